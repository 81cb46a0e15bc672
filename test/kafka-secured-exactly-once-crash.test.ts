/**
 * The Kafka crash test (kafka-exactly-once-crash.test.ts) in the "kafka-secured" configuration: every log of the
 * test and of its runner children connects to the broker's SASL_SSL listener (SCRAM-SHA-512 over TLS, ACLs on) —
 * see `kafkaLogOptions` in helpers/kafka-run.ts. Never skips: no secured listener is a failure.
 */
import { securedKafka } from '../src/log/kafka/test-broker.js';

process.env.SLIPWAY_TEST_KAFKA_SECURED = '1';
securedKafka();
await import('./kafka-exactly-once-crash.test.js');
