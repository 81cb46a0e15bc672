import { SlipwayError } from '../errors.js';
import { openEmbeddedLog } from './embedded/embedded-log.js';
import {
  describeKafkaSecurity,
  type KafkaSecretRef,
  type KafkaSecurityConfig,
  resolveKafkaSecurity,
} from './kafka-security-config.js';
import type { Log } from './log.js';
import { namespaceLog } from './namespaced-log.js';

/**
 * Which engine an environment's log is on, and where: the embedded SQLite file (the default, one
 * machine) or a Kafka cluster. Pipelines, artifacts and strategies are the same on both; only this
 * changes between environments.
 */
export type LogConfig = (
  | { engine: 'embedded'; path: string }
  | {
      engine: 'kafka';
      brokers: string[];
      /** Client id sent to Kafka (default `slipway`). */
      clientId?: string;
      /** Kafka aborts a transaction a crashed runner left open after this long (default 10,000 ms). */
      transactionTimeoutMs?: number;
      /** Timeout of one request, and how long retriable errors are retried (default 30,000 ms). */
      requestTimeoutMs?: number;
      /** How long to wait for a connection to a broker (default 5,000 ms). */
      connectTimeoutMs?: number;
      /** SASL and TLS, secrets by reference (resolved in the process that opens the log). */
      security?: KafkaSecurityConfig;
    }
) & {
  /**
   * The namespace of an environment or workspace on a shared log: every topic, group, owner and state
   * namespace carries this prefix on the underlying log (see `namespaceLog`). None by default.
   */
  namespace?: string;
  /**
   * The schema registry of the environment's datasets in a registry format (`avro()`, `jsonSchema()`): runners
   * on this log encode and decode their values with it. The log itself does not use it; it travels with the
   * log's config to every runner. Without it a runner falls back to `SCHEMA_REGISTRY_URL`.
   */
  schemaRegistry?: SchemaRegistryConfig;
};

/** Where a schema registry is (a Confluent-compatible API), its password by reference (resolved where runners run). */
export interface SchemaRegistryConfig {
  url: string;
  username?: string;
  password?: KafkaSecretRef;
}

/** How {@link openLog} opens the log. */
export interface OpenLogOptions {
  /** Embedded log: commit on a worker thread (what runners use). */
  commitThread?: boolean;
  /**
   * Embedded log: refuse a file that does not exist (`SLIPWAY_LOG_NOT_FOUND`) instead of creating it, for
   * callers that only read. A Kafka cluster has nothing to create: ignored there.
   */
  mustExist?: boolean;
}

/** Opens the log an environment is configured with. Runners given the same config share it. */
export async function openLog(config: LogConfig, options: OpenLogOptions = {}): Promise<Log> {
  const log = await openEngine(config, options);
  return config.namespace === undefined || config.namespace === '' ? log : namespaceLog(log, config.namespace);
}

async function openEngine(config: LogConfig, options: OpenLogOptions): Promise<Log> {
  if (config.engine === 'embedded') {
    return openEmbeddedLog({
      path: config.path,
      ...(options.commitThread ? { commitThread: true } : {}),
      ...(options.mustExist ? { mustExist: true } : {}),
    });
  }
  // Loaded only when asked for, so the embedded default never loads the Kafka client.
  const { openKafkaLog } = await import('./kafka/kafka-log.js');
  const security = config.security === undefined ? {} : await resolveKafkaSecurity(config.security);
  return openKafkaLog({
    ...security,
    brokers: config.brokers,
    ...(config.clientId === undefined ? {} : { clientId: config.clientId }),
    ...(config.transactionTimeoutMs === undefined ? {} : { transactionTimeoutMs: config.transactionTimeoutMs }),
    ...(config.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.requestTimeoutMs }),
    ...(config.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: config.connectTimeoutMs }),
  });
}

/** Parses `host:port[,host:port…]` (a `--kafka` flag or `SLIPWAY_KAFKA_BROKERS`), naming the bad part. */
export function parseBrokers(text: string, from = '--kafka'): string[] {
  const brokers = text
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  const bad = brokers.find((b) => !/^[A-Za-z0-9._-]+:\d{1,5}$/.test(b));
  if (brokers.length === 0 || bad !== undefined) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `${from} takes Kafka brokers as host:port[,host:port…]${bad === undefined ? '' : `; '${bad}' is not host:port`}, e.g. 127.0.0.1:9092.`,
      { details: { value: text } },
    );
  }
  return brokers;
}

/** One line naming where a log is, for status and progress output. */
export function describeLogConfig(config: LogConfig): string {
  const secured = config.engine === 'kafka' ? describeKafkaSecurity(config.security) : undefined;
  const where =
    config.engine === 'embedded'
      ? `embedded log ${config.path}`
      : `Kafka at ${config.brokers.join(',')}${secured === undefined ? '' : ` (${secured})`}`;
  return config.namespace ? `${where}, namespace ${config.namespace}` : where;
}
