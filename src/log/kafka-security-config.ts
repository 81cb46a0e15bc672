/**
 * The security of a Kafka log as configured (in `slipway.config.ts`, by CLI options, in a runner's spec): SASL and
 * TLS with every secret — a password, a private key, its password — and every certificate by reference
 * (`{ env: 'NAME' }` or `{ file: '/path' }`), never by value. References are resolved only in the process that
 * opens the log (a runner, the daemon, the CLI), so values are never written to the control plane or a spec.
 */
import { readFile } from 'node:fs/promises';
import { SlipwayError } from '../errors.js';
import type { KafkaSaslMechanism, KafkaSaslOptions, KafkaTlsOptions } from './kafka/kafka-security.js';

/** Where a secret (or a certificate) is: an environment variable or a file of the machine that connects. */
export type KafkaSecretRef = { env: string } | { file: string };

export interface KafkaSecurityConfig {
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: KafkaSecretRef };
  /** `true`: TLS trusting the system's CAs; or a CA, a client certificate, its key and the key's password. */
  tls?:
    | boolean
    | {
        ca?: KafkaSecretRef;
        cert?: KafkaSecretRef;
        key?: KafkaSecretRef;
        keyPassword?: KafkaSecretRef;
        servername?: string;
      };
}

/** The resolved options `openKafkaLog` takes. */
export interface ResolvedKafkaSecurity {
  sasl?: KafkaSaslOptions;
  tls?: boolean | KafkaTlsOptions;
}

function describe(ref: KafkaSecretRef): string {
  return 'env' in ref ? `env:${ref.env}` : `file:${ref.file}`;
}

async function resolveRef(field: string, ref: KafkaSecretRef, env: NodeJS.ProcessEnv): Promise<string> {
  const fail = (why: string): never => {
    throw new SlipwayError(
      'SLIPWAY_SECRET_MISSING',
      `The Kafka ${field} (${describe(ref)}) cannot be resolved: ${why}. Set it where this process runs, or fix the reference in the log's config (slipway.config.ts or the --kafka-* options).`,
      { details: { field, reference: describe(ref) } },
    );
  };
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') return fail(`the environment variable ${ref.env} is not set`);
    return value;
  }
  let text: string;
  try {
    text = await readFile(ref.file, 'utf8');
  } catch (err) {
    return fail(`the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // A password file's trailing newline is not part of the password (PEM text keeps it: harmless there).
  const value = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (value === '') fail('the file is empty');
  return value;
}

/** Resolves every reference of a Kafka security config (the first that cannot be resolved throws `SLIPWAY_SECRET_MISSING`). */
export async function resolveKafkaSecurity(
  config: KafkaSecurityConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedKafkaSecurity> {
  const out: ResolvedKafkaSecurity = {};
  if (config.sasl !== undefined) {
    out.sasl = {
      mechanism: config.sasl.mechanism,
      username: config.sasl.username,
      password: await resolveRef('SASL password', config.sasl.password, env),
    };
  }
  if (typeof config.tls === 'boolean') out.tls = config.tls;
  else if (config.tls !== undefined) {
    const tls: KafkaTlsOptions = {};
    const t = config.tls;
    if (t.ca !== undefined) tls.ca = await resolveRef('TLS CA', t.ca, env);
    if (t.cert !== undefined) tls.cert = await resolveRef('TLS client certificate', t.cert, env);
    if (t.key !== undefined) tls.key = await resolveRef('TLS client key', t.key, env);
    if (t.keyPassword !== undefined) tls.keyPassword = await resolveRef('TLS key password', t.keyPassword, env);
    if (t.servername !== undefined) tls.servername = t.servername;
    out.tls = tls;
  }
  return out;
}

/** One phrase for status lines: `SCRAM-SHA-512 as 'app' over TLS`, never a secret. */
export function describeKafkaSecurity(config: KafkaSecurityConfig | undefined): string | undefined {
  if (config === undefined || (config.sasl === undefined && !config.tls)) return undefined;
  const sasl = config.sasl === undefined ? undefined : `${config.sasl.mechanism} as '${config.sasl.username}'`;
  if (sasl === undefined) return 'TLS';
  return config.tls ? `${sasl} over TLS` : sasl;
}
