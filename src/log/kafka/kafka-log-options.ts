/** The options of `openKafkaLog`, validated once by `checkOptions` (kafka-validation.ts). */
import type { KafkaSaslOptions, KafkaTlsOptions } from './kafka-security.js';

export interface KafkaLogOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Client id sent to Kafka (default `slipway`). */
  clientId?: string;
  /**
   * Owner X commits as the transactional id `<transactionalIdPrefix>-X`, or as X itself when X already starts
   * with `<transactionalIdPrefix>.` (runners' owners are `slipway.<pipeline>`); default `slipway`. A trailing `-`
   * is not doubled. See kafka-owner-sessions.ts.
   */
  transactionalIdPrefix?: string;
  /** Prefix of Slipway's own topics: `<prefix>-owners`, `<prefix>-state.<namespace>` (default `__slipway`). */
  internalTopicPrefix?: string;
  /** Kafka aborts a transaction left open this long, e.g. by a crashed runner (default 10,000 ms). */
  transactionTimeoutMs?: number;
  /** Timeout of one request, and how long retriable errors are retried (default 30,000 ms). */
  requestTimeoutMs?: number;
  /** Default 5,000 ms. */
  connectTimeoutMs?: number;
  /** Replication factor of the topics Slipway creates (default -1: the broker's default.replication.factor). */
  replicationFactor?: number;
  /**
   * SASL authentication (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512): SASL_SSL with `tls`, SASL_PLAINTEXT without.
   * A refused login is `SLIPWAY_KAFKA_AUTH_FAILED`; a missing ACL later is `SLIPWAY_KAFKA_NOT_AUTHORIZED`.
   */
  sasl?: KafkaSaslOptions;
  /** TLS to the brokers: `true` (the system's CAs) or PEM text of a CA, a client certificate and its key. */
  tls?: boolean | KafkaTlsOptions;
}
