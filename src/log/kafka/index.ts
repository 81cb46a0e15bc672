/**
 * `slipway/kafka`: the Log on a real Kafka cluster. A separate entry point, so that pipelines on the
 * embedded log never load the Kafka client.
 */
export type { KafkaLogOptions } from './kafka-log.js';
export { openKafkaLog } from './kafka-log.js';
export type { KafkaSaslMechanism, KafkaSaslOptions, KafkaTlsOptions } from './kafka-security.js';
