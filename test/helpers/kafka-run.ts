import { randomUUID } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import type { KafkaLogOptions } from 'slipway/kafka';
import { securedKafka, testingSecuredKafka } from '../../src/log/kafka/test-broker.js';

/** A short random id for one test run: its topics, group, owner and transactional ids all carry it. */
export function runId(): string {
  return randomUUID().replaceAll('-', '').slice(0, 10);
}

/** The internal topic prefix of run `id`: its owners topic and state changelogs start with it. */
export function internalPrefix(id: string): string {
  return `__slipway-t${id}`;
}

/** The transactional id prefix of run `id`: owner X commits as `<prefix>X`. */
export function transactionalIdPrefix(id: string): string {
  return `slipway-t${id}-`;
}

/**
 * Kafka log options that keep run `id` apart from every other run on the same cluster. Transactions left open by a
 * killed process stay open for a minute (unless a restart fences them first), so a test can look at them.
 */
export function kafkaLogOptions(brokers: string[], id: string): KafkaLogOptions {
  const options = {
    brokers,
    clientId: `slipway-test-${id}`,
    transactionalIdPrefix: transactionalIdPrefix(id),
    internalTopicPrefix: internalPrefix(id),
    transactionTimeoutMs: 60_000,
  };
  if (!testingSecuredKafka()) return options;
  // The "kafka-secured" configuration (SLIPWAY_TEST_KAFKA_SECURED=1, inherited by runner children): the log under
  // test goes through the SASL_SSL listener of the same broker as its admin; the test's own checks and clean-up
  // stay on the plaintext listener given in `brokers`.
  const secured = securedKafka();
  return { ...options, brokers: secured.brokers, sasl: secured.sasl, tls: secured.tls };
}

/** Deletes every topic whose name carries run `id` (its internal topics too) and the given consumer groups. */
export async function deleteRunTopics(brokers: string[], id: string, groups: string[]): Promise<void> {
  const admin = new Admin({ clientId: `slipway-test-${id}`, bootstrapBrokers: brokers });
  try {
    const mine = (await admin.listTopics({ includeInternals: true })).filter((t) => t.includes(id));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    if (groups.length > 0) await admin.deleteGroups({ groups }).catch(() => {});
  } finally {
    await admin.close();
  }
}
