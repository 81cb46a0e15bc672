/** Checks of options and arguments, with the same rules and messages as the embedded engine. */
import { SlipwayError } from '../../errors.js';
import type { KafkaLogOptions } from './kafka-log-options.js';
import { checkSecurity } from './kafka-security.js';

export { checkDeletableTopics, checkList, checkOffset, checkPartition, checkTopicName } from '../log-checks.js';

/** Validates `openKafkaLog` options once, naming the bad field. */
export function checkOptions(options: KafkaLogOptions): void {
  const bad = (path: string, message: string): never => {
    throw new SlipwayError('SLIPWAY_USAGE', `openKafkaLog: ${path} ${message}`, { details: { path } });
  };
  if (typeof options !== 'object' || options === null) bad('options', 'must be an object with `brokers`.');
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
    bad('brokers', "must list at least one broker as 'host:port', e.g. ['127.0.0.1:9092'].");
  }
  options.brokers.forEach((b, i) => {
    if (typeof b !== 'string' || !/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(b)) {
      bad(`brokers[${i}]`, `must be 'host:port', got ${JSON.stringify(b)}.`);
    }
  });
  for (const key of ['transactionTimeoutMs', 'requestTimeoutMs', 'connectTimeoutMs'] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0))
      bad(key, `must be a positive whole number of ms, got ${v}.`);
  }
  const rf = options.replicationFactor;
  if (rf !== undefined && (!Number.isInteger(rf) || (rf < 1 && rf !== -1))) {
    bad('replicationFactor', `must be a whole number ≥ 1, or -1 for the broker's default, got ${rf}.`);
  }
  checkSecurity(options.sasl, options.tls, bad);
  for (const key of ['clientId', 'transactionalIdPrefix', 'internalTopicPrefix'] as const) {
    const v = options[key];
    if (v !== undefined && (typeof v !== 'string' || !/^[A-Za-z0-9._-]*$/.test(v))) {
      bad(key, `may hold only letters, digits, '.', '_' and '-', got ${JSON.stringify(v)}.`);
    }
  }
}

export function topicNotFound(name: string, brokers: ReadonlyArray<string>): SlipwayError {
  return new SlipwayError(
    'SLIPWAY_TOPIC_NOT_FOUND',
    `Topic '${name}' does not exist in the Kafka cluster at ${brokers.join(', ')}. Create it first (pipelines create their topics when they start; \`slipway topics\` lists them).`,
    { details: { topic: name } },
  );
}

/** Owner names become Kafka transactional ids (`<prefix><owner>`). */
export function checkOwner(owner: string): void {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 200) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `Owner '${String(owner)}' is invalid: use a non-empty name of at most 200 characters.`,
      { details: { owner } },
    );
  }
}

export function checkNamespace(namespace: string): string {
  if (typeof namespace !== 'string' || namespace.length === 0) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `State namespace '${String(namespace)}' is invalid: use a non-empty name.`,
      {
        details: { namespace },
      },
    );
  }
  return namespace;
}

/** The `retention.ms` config of a topic to create, checked. */
export function checkRetention(topic: string, retentionMs: number | undefined): Array<{ name: string; value: string }> {
  if (retentionMs === undefined) return [];
  if (!Number.isSafeInteger(retentionMs) || (retentionMs < 1 && retentionMs !== -1)) {
    throw new SlipwayError(
      'SLIPWAY_INVALID_DEFINITION',
      `Topic '${topic}' needs a retention of a whole number of ms ≥ 1, or -1 for forever, got ${retentionMs}.`,
      { details: { topic, retentionMs } },
    );
  }
  return [{ name: 'retention.ms', value: String(retentionMs) }];
}
