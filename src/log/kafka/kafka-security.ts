/**
 * How the Kafka engine authenticates and encrypts: SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and TLS (a CA to
 * trust, a client certificate, a password of its key), as values already resolved (the environment config holds
 * secret references; `open-log.ts` resolves them in the process that connects). Passed to every connection of
 * @platformatic/kafka's ConnectionPool (its `sasl` and `tls` options).
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { SlipwayError } from '../../errors.js';

/** The SASL mechanisms Slipway supports. */
export const KAFKA_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

export interface KafkaSaslOptions {
  mechanism: KafkaSaslMechanism;
  username: string;
  password: string;
}

/** TLS to the brokers; PEM text, not file names (every field optional: `{}` trusts the system's CAs). */
export interface KafkaTlsOptions {
  /** CA certificate(s) to trust instead of the system's. */
  ca?: string;
  /** Client certificate (mutual TLS), with `key`. */
  cert?: string;
  /** The client certificate's private key. */
  key?: string;
  /** Password of an encrypted `key`. */
  keyPassword?: string;
  /** Server name to check the brokers' certificates against (default: the broker's host). */
  servername?: string;
}

export interface KafkaConnectionSecurity {
  /** SASL authentication; over TLS when `tls` is set too (SASL_SSL), else SASL_PLAINTEXT. */
  sasl?: KafkaSaslOptions;
  /** TLS: `true` trusts the system's CAs. */
  tls?: boolean | KafkaTlsOptions;
}

/** The `sasl` / `tls` options of a @platformatic/kafka connection pool. */
export function connectionSecurity(security: KafkaConnectionSecurity | undefined): {
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: string };
  tls?: TlsConnectionOptions;
} {
  if (security === undefined) return {};
  const out: { sasl?: KafkaSaslOptions; tls?: TlsConnectionOptions } = {};
  if (security.sasl !== undefined) {
    const { mechanism, username, password } = security.sasl;
    out.sasl = { mechanism, username, password };
  }
  if (security.tls === true) out.tls = {};
  else if (typeof security.tls === 'object') {
    const t = security.tls;
    out.tls = {
      ...(t.ca === undefined ? {} : { ca: t.ca }),
      ...(t.cert === undefined ? {} : { cert: t.cert }),
      ...(t.key === undefined ? {} : { key: t.key }),
      ...(t.keyPassword === undefined ? {} : { passphrase: t.keyPassword }),
      ...(t.servername === undefined ? {} : { servername: t.servername }),
    };
  }
  return out;
}

/** Validates the security options of `openKafkaLog` once, naming the bad field (`bad` throws). */
export function checkSecurity(sasl: unknown, tls: unknown, bad: (path: string, message: string) => never): void {
  if (sasl !== undefined) {
    if (typeof sasl !== 'object' || sasl === null) bad('sasl', 'must be { mechanism, username, password }.');
    const s = sasl as Record<string, unknown>;
    if (!KAFKA_SASL_MECHANISMS.includes(s.mechanism as KafkaSaslMechanism))
      bad('sasl.mechanism', `must be one of ${KAFKA_SASL_MECHANISMS.join(', ')}, got ${JSON.stringify(s.mechanism)}.`);
    for (const key of ['username', 'password'] as const) {
      if (typeof s[key] !== 'string' || s[key] === '') bad(`sasl.${key}`, 'must be a non-empty string.');
    }
  }
  if (tls !== undefined && typeof tls !== 'boolean') {
    if (typeof tls !== 'object' || tls === null) bad('tls', 'must be true, or { ca, cert, key, keyPassword }.');
    const t = tls as Record<string, unknown>;
    for (const key of ['ca', 'cert', 'key', 'keyPassword', 'servername'] as const) {
      if (t[key] !== undefined && (typeof t[key] !== 'string' || t[key] === ''))
        bad(`tls.${key}`, 'must be a non-empty string (PEM text for ca, cert and key).');
    }
    if ((t.cert === undefined) !== (t.key === undefined))
      bad(t.cert === undefined ? 'tls.cert' : 'tls.key', 'a client certificate needs both cert and key.');
    if (t.keyPassword !== undefined && t.key === undefined)
      bad('tls.keyPassword', 'is the password of tls.key: set key too.');
  }
}

/**
 * The error for a connection the cluster refused at authentication (wrong password, unknown user, mechanism not
 * enabled) or whose TLS handshake failed (an untrusted certificate, a wrong key password).
 */
export function authenticationFailed(
  brokers: ReadonlyArray<string>,
  security: KafkaConnectionSecurity | undefined,
  cause: unknown,
): SlipwayError {
  const how =
    security?.sasl === undefined
      ? 'TLS'
      : `SASL ${security.sasl.mechanism} as '${security.sasl.username}'${security.tls ? ' over TLS' : ''}`;
  return new SlipwayError(
    'SLIPWAY_KAFKA_AUTH_FAILED',
    `Kafka at ${brokers.join(', ')} refused the connection (${how}): ${describeCause(cause)}. Check the user name, the password (its secret reference), the mechanism the listener enables, and the CA / client certificate.`,
    { cause, details: { brokers: [...brokers], mechanism: security?.sasl?.mechanism ?? null, tls: !!security?.tls } },
  );
}

function describeCause(cause: unknown): string {
  const seen: string[] = [];
  let at: unknown = cause;
  for (let i = 0; i < 6 && typeof at === 'object' && at !== null; i++) {
    const e = at as { message?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof e.message === 'string' && !seen.includes(e.message)) seen.push(e.message);
    at = Array.isArray(e.errors) && e.errors.length > 0 ? e.errors[0] : e.cause;
  }
  return seen.slice(-2).join(': ') || String(cause);
}
