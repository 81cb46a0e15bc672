/**
 * Finds the Kafka broker for tests: `KAFKA_BROKERS` (comma-separated `host:port`), or else starts the
 * project's single-node broker with `node scripts/kafka-broker.mjs start` (idempotent; it keeps running
 * for later test files). Under `npm test` it starts in the run's own state folder (`SLIPWAY_KAFKA_STATE`,
 * set by scripts/run-tests.mjs) and the run stops it when it ends; a test file run on its own starts the
 * checkout's broker, which stays up until `npm run kafka:stop`. Never skips: no broker is a test failure.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { SlipwayError } from '../../errors.js';
import type { KafkaSaslOptions, KafkaTlsOptions } from './kafka-security.js';

const SCRIPT = fileURLToPath(new URL('../../../scripts/kafka-broker.mjs', import.meta.url));

/** The brokers to test against, starting the local broker when `KAFKA_BROKERS` is unset. */
export function kafkaBrokers(): string[] {
  const fromEnv = process.env.KAFKA_BROKERS?.trim();
  if (fromEnv)
    return fromEnv
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b.length > 0);
  let stdout: string;
  try {
    // With the SASL_SSL listener too, so the secured tests (securedKafka) run on the same broker.
    stdout = execFileSync(process.execPath, [SCRIPT, 'start'], {
      env: { ...process.env, SLIPWAY_KAFKA_SECURED: process.env.SLIPWAY_KAFKA_SECURED ?? '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10 * 60_000,
    });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(
      `KAFKA_BROKERS is unset and starting a broker with '${SCRIPT} start' failed:\n${stderr.split('\n').slice(-20).join('\n')}\n` +
        'Set KAFKA_BROKERS=host:port to use a running broker, or fix the error above (needs Java 17+ and Maven).',
      { cause: err },
    );
  }
  const line = stdout.split('\n').find((l) => l.startsWith('KAFKA_BROKERS='));
  if (line === undefined) throw new Error(`'${SCRIPT} start' printed no KAFKA_BROKERS= line:\n${stdout}`);
  const value = line.slice('KAFKA_BROKERS='.length).trim();
  // Later calls in this process (other suites) reuse it without running the script again; the secured
  // listener's lines (KAFKA_SECURED_*) likewise.
  for (const l of stdout.split('\n')) {
    const m = /^(KAFKA_SECURED_[A-Z_]+)=(.*)$/.exec(l.trim());
    if (m !== null && process.env[m[1] as string] === undefined) process.env[m[1] as string] = m[2];
  }
  process.env.KAFKA_BROKERS = value;
  return value.split(',').map((b) => b.trim());
}

/** The SASL_SSL listener of the test broker, as its admin (a super user): what the secured tests connect with. */
export interface SecuredTestKafka {
  brokers: string[];
  sasl: KafkaSaslOptions;
  tls: KafkaTlsOptions;
  /** Paths of the files behind the options (for configs that take references). */
  files: { ca: string; adminPassword: string; clientCert?: string; clientKey?: string; clientKeyPassword?: string };
}

/**
 * The secured listener (`KAFKA_SECURED_BROKERS`, `KAFKA_SECURED_CA`, `KAFKA_SECURED_ADMIN_USER`,
 * `KAFKA_SECURED_ADMIN_PASSWORD_FILE`, printed by `SLIPWAY_KAFKA_SECURED=1 node scripts/kafka-broker.mjs start`).
 * Never skips: with KAFKA_BROKERS unset it starts the project's broker (with that listener); with KAFKA_BROKERS
 * set and no KAFKA_SECURED_BROKERS (a broker started without the listener) it fails saying what to set.
 */
export function securedKafka(): SecuredTestKafka {
  if (!process.env.KAFKA_SECURED_BROKERS?.trim() && !process.env.KAFKA_BROKERS?.trim()) kafkaBrokers();
  const need = (name: string): string => {
    const v = process.env[name]?.trim();
    if (!v)
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `${name} is unset: the secured Kafka tests need the broker's SASL_SSL listener. Start the broker with SLIPWAY_KAFKA_SECURED=1 (node scripts/kafka-broker.mjs start prints the KAFKA_SECURED_* lines to export), or unset KAFKA_BROKERS so the tests start one.`,
        { details: { variable: name } },
      );
    return v;
  };
  const brokers = need('KAFKA_SECURED_BROKERS')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  const ca = need('KAFKA_SECURED_CA');
  const adminPassword = need('KAFKA_SECURED_ADMIN_PASSWORD_FILE');
  const optional = (name: string) => process.env[name]?.trim() || undefined;
  return {
    brokers,
    sasl: {
      mechanism: 'SCRAM-SHA-512',
      username: process.env.KAFKA_SECURED_ADMIN_USER?.trim() || 'admin',
      password: readFileSync(adminPassword, 'utf8').trim(),
    },
    tls: { ca: readFileSync(ca, 'utf8') },
    files: {
      ca,
      adminPassword,
      clientCert: optional('KAFKA_SECURED_CLIENT_CERT'),
      clientKey: optional('KAFKA_SECURED_CLIENT_KEY'),
      clientKeyPassword: optional('KAFKA_SECURED_CLIENT_KEY_PASSWORD_FILE'),
    },
  };
}

/** True when the Kafka tests of this process run against the secured listener (`SLIPWAY_TEST_KAFKA_SECURED=1`). */
export function testingSecuredKafka(): boolean {
  const v = process.env.SLIPWAY_TEST_KAFKA_SECURED;
  return v !== undefined && v !== '' && v !== '0';
}
