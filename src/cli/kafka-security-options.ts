import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SlipwayError } from '../errors.js';
import type { KafkaSecretRef, KafkaSecurityConfig } from '../log/kafka-security-config.js';

const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

/** The global `--kafka-*` security options: SASL and TLS for `--kafka` (secrets by variable name or file, never by value). */
export function addKafkaSecurityOptions(program: Command): Command {
  return program
    .option('--kafka-sasl-mechanism <mechanism>', `SASL for --kafka: ${MECHANISMS.join(', ')}`)
    .option('--kafka-username <name>', 'SASL user name')
    .option('--kafka-password-env <VAR>', 'SASL password: the environment variable holding it')
    .option('--kafka-password-file <path>', 'SASL password: a file holding it')
    .option('--kafka-tls', "TLS to the brokers, trusting the system's CAs (implied by --kafka-ca and --kafka-cert)")
    .option('--kafka-ca <path>', 'TLS: PEM file of the CA to trust')
    .option('--kafka-cert <path>', 'TLS: PEM file of a client certificate (mutual TLS; needs --kafka-key)')
    .option('--kafka-key <path>', "TLS: PEM file of the client certificate's key")
    .option('--kafka-key-password-env <VAR>', "TLS: the environment variable holding the key's password")
    .option('--kafka-key-password-file <path>', "TLS: a file holding the key's password");
}

interface Opts {
  kafkaSaslMechanism?: string;
  kafkaUsername?: string;
  kafkaPasswordEnv?: string;
  kafkaPasswordFile?: string;
  kafkaTls?: boolean;
  kafkaCa?: string;
  kafkaCert?: string;
  kafkaKey?: string;
  kafkaKeyPasswordEnv?: string;
  kafkaKeyPasswordFile?: string;
}

const NAMES: Record<keyof Opts, string> = {
  kafkaSaslMechanism: '--kafka-sasl-mechanism',
  kafkaUsername: '--kafka-username',
  kafkaPasswordEnv: '--kafka-password-env',
  kafkaPasswordFile: '--kafka-password-file',
  kafkaTls: '--kafka-tls',
  kafkaCa: '--kafka-ca',
  kafkaCert: '--kafka-cert',
  kafkaKey: '--kafka-key',
  kafkaKeyPasswordEnv: '--kafka-key-password-env',
  kafkaKeyPasswordFile: '--kafka-key-password-file',
};

function usage(message: string, option: string): never {
  throw new SlipwayError('SLIPWAY_USAGE', message, { details: { option } });
}

/** The `--kafka-*` options given, by their flag names. */
export function kafkaSecurityFlagsGiven(opts: Record<string, unknown>): string[] {
  return (Object.keys(NAMES) as Array<keyof Opts>).filter((k) => opts[k] !== undefined).map((k) => NAMES[k]);
}

function ref(envKey: string | undefined, file: string | undefined, what: string, envFlag: string, fileFlag: string) {
  if (envKey !== undefined && file !== undefined)
    usage(`Give ${what} once: ${envFlag} or ${fileFlag}, not both.`, envFlag);
  if (envKey !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(envKey))
      usage(`${envFlag} takes the name of an environment variable (e.g. KAFKA_PASSWORD), got '${envKey}'.`, envFlag);
    return { env: envKey } satisfies KafkaSecretRef;
  }
  return file === undefined ? undefined : ({ file: resolve(file) } satisfies KafkaSecretRef);
}

/**
 * The security of `--kafka` from the global options, validated once (a `SLIPWAY_USAGE` error naming the option);
 * undefined when none is given. Files become absolute paths: runners may start elsewhere.
 */
export function kafkaSecurityFromOptions(all: Record<string, unknown>): KafkaSecurityConfig | undefined {
  const o = all as Opts;
  if (kafkaSecurityFlagsGiven(all).length === 0) return undefined;
  const out: KafkaSecurityConfig = {};
  const password = ref(
    o.kafkaPasswordEnv,
    o.kafkaPasswordFile,
    'the SASL password',
    NAMES.kafkaPasswordEnv,
    NAMES.kafkaPasswordFile,
  );
  const saslGiven = o.kafkaSaslMechanism !== undefined || o.kafkaUsername !== undefined || password !== undefined;
  if (saslGiven) {
    const mechanism = o.kafkaSaslMechanism;
    if (mechanism === undefined)
      usage(`SASL needs ${NAMES.kafkaSaslMechanism} (${MECHANISMS.join(', ')}).`, NAMES.kafkaSaslMechanism);
    const upper = mechanism.toUpperCase();
    if (!MECHANISMS.includes(upper as (typeof MECHANISMS)[number]))
      usage(
        `${NAMES.kafkaSaslMechanism} must be one of ${MECHANISMS.join(', ')}, got '${mechanism}'.`,
        NAMES.kafkaSaslMechanism,
      );
    if (o.kafkaUsername === undefined || o.kafkaUsername === '')
      usage(`SASL ${upper} needs ${NAMES.kafkaUsername}.`, NAMES.kafkaUsername);
    if (password === undefined)
      usage(
        `SASL ${upper} needs the password: ${NAMES.kafkaPasswordEnv} <VAR> or ${NAMES.kafkaPasswordFile} <path>.`,
        NAMES.kafkaPasswordEnv,
      );
    out.sasl = { mechanism: upper as (typeof MECHANISMS)[number], username: o.kafkaUsername, password };
  }
  const keyPassword = ref(
    o.kafkaKeyPasswordEnv,
    o.kafkaKeyPasswordFile,
    "the key's password",
    NAMES.kafkaKeyPasswordEnv,
    NAMES.kafkaKeyPasswordFile,
  );
  if ((o.kafkaCert === undefined) !== (o.kafkaKey === undefined))
    usage(
      `A client certificate needs both ${NAMES.kafkaCert} and ${NAMES.kafkaKey}.`,
      o.kafkaCert === undefined ? NAMES.kafkaCert : NAMES.kafkaKey,
    );
  if (keyPassword !== undefined && o.kafkaKey === undefined)
    usage(`The key's password is for ${NAMES.kafkaKey}: give the key too.`, NAMES.kafkaKey);
  const tlsFiles = o.kafkaCa !== undefined || o.kafkaCert !== undefined;
  if (tlsFiles) {
    out.tls = {
      ...(o.kafkaCa === undefined ? {} : { ca: { file: resolve(o.kafkaCa) } }),
      ...(o.kafkaCert === undefined ? {} : { cert: { file: resolve(o.kafkaCert) } }),
      ...(o.kafkaKey === undefined ? {} : { key: { file: resolve(o.kafkaKey) } }),
      ...(keyPassword === undefined ? {} : { keyPassword }),
    };
  } else if (o.kafkaTls === true) out.tls = true;
  return out;
}
