import { SlipwayError } from '../errors.js';

// The argument checks every Log engine makes, with one rule and one message each: a topic that is
// valid on the embedded log is valid on Kafka, and a bad call fails the same way on every engine.

/** A topic name Kafka accepts (so a topic can move from the embedded log to Kafka), and 1–10,000 partitions. */
export function checkTopicName(name: string, partitions: number): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(name) || name === '.' || name === '..') {
    throw new SlipwayError(
      'SLIPWAY_INVALID_DEFINITION',
      `Topic name '${name}' is invalid: use 1–249 letters, digits, '.', '_' or '-'.`,
      { details: { topic: name } },
    );
  }
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000) {
    throw new SlipwayError(
      'SLIPWAY_INVALID_DEFINITION',
      `Topic '${name}' needs a whole number of partitions from 1 to 10000, got ${partitions}.`,
      { details: { topic: name, partitions } },
    );
  }
}

/**
 * Topics `deleteTopics` may delete: valid names, none internal. Names starting with `__` are Kafka's and Slipway's
 * own topics (consumer offsets, transactions, owners, state changelogs, recorded settings); an engine whose own
 * topics have another prefix names it.
 */
export function checkDeletableTopics(names: ReadonlyArray<string>, internalPrefix = '__'): void {
  checkList('deleteTopics', 'topic names', names);
  for (const name of names) {
    checkTopicName(name, 1);
    if (name.startsWith('__') || name.startsWith(internalPrefix)) {
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `Topic '${name}' is internal (Kafka's or Slipway's own): deleteTopics deletes only data topics. Delete state with deleteStateNamespaces and owners with forgetOwners.`,
        { details: { topic: name } },
      );
    }
  }
}

/** A list of non-empty names (groups, owners, namespaces) for one of the delete calls. */
export function checkList(call: string, what: string, values: ReadonlyArray<string>): void {
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string' || v === '')) {
    throw new SlipwayError('SLIPWAY_USAGE', `${call} takes a list of ${what}, each a non-empty string.`, {
      details: { call },
    });
  }
}

/** A partition number of a topic with `partitions` partitions. */
export function checkPartition(topic: string, partitions: number, partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
    throw new SlipwayError(
      'SLIPWAY_PARTITION_NOT_FOUND',
      `Partition ${partition} is not in topic '${topic}', which has partitions 0..${partitions - 1}.`,
      { details: { topic, partition, partitions } },
    );
  }
}

/** An offset: a whole number ≥ 0 (`what` names it in the message). */
export function checkOffset(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new SlipwayError('SLIPWAY_INVALID_OFFSET', `${what} must be a whole number ≥ 0, got ${value}.`, {
      details: { offset: value },
    });
  }
}

/** A record to append: a string value, and a string or null key (record `index` of the call, for the message). */
export function checkRecordFields(topic: string, record: { key?: unknown; value: unknown }, index: number): void {
  if (typeof record.value !== 'string') {
    throw new SlipwayError('SLIPWAY_VALIDATION', `Record ${index} for '${topic}' has no string value.`, {
      details: { topic, index },
    });
  }
  if (record.key !== null && record.key !== undefined && typeof record.key !== 'string') {
    throw new SlipwayError(
      'SLIPWAY_VALIDATION',
      `Record ${index} for '${topic}' has a key that is not a string or null.`,
      {
        details: { topic, index },
      },
    );
  }
}
