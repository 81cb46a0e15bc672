import type { Dataset } from '../dataset/dataset.js';
import type { AppendRecord, Log, LogRecord } from '../log/log.js';
import { keyOfValue, partitionOfKey } from '../runtime/record-keys.js';
import { createDatasetTopic } from '../topics/dataset-topic.js';

export { keyOfValue, partitionOfKey } from '../runtime/record-keys.js';

/** A record to write as it is: raw text (not JSON, or JSON that breaks the schema) and an explicit key. */
export interface RawRecord {
  key: string | null;
  value: string;
  headers?: Record<string, string>;
}

/**
 * Appends values to a dataset's topic, partitioned by key like a producer (creates the topic if needed).
 * Values are written as JSON; `RawRecord`s via `raw` are written as they are. Returns the records' positions.
 *
 * @example
 * await produceRecords(log, orders, [{ orderId: 'o-1', customerId: 'c1', … }])
 */
export async function produceRecords(
  log: Log,
  dataset: Dataset,
  values: ReadonlyArray<unknown>,
  options: { timestamp?: number; raw?: ReadonlyArray<RawRecord> } = {},
): Promise<Array<{ partition: number; offset: number }>> {
  await createDatasetTopic(log, dataset);
  const records: AppendRecord[] = values.map((value) => {
    const key = keyOfValue(dataset, value);
    return { partition: partitionOfKey(dataset, key), key, value: JSON.stringify(value) };
  });
  for (const r of options.raw ?? []) {
    records.push({
      partition: partitionOfKey(dataset, r.key),
      key: r.key,
      value: r.value,
      ...(r.headers ? { headers: r.headers } : {}),
    });
  }
  if (options.timestamp !== undefined) for (const r of records) r.timestamp = options.timestamp;
  if (records.length === 0) return [];
  const offsets = await log.append(dataset.topic, records);
  return records.map((r, i) => ({ partition: r.partition, offset: offsets[i] as number }));
}

/** Every record of a topic, partition by partition, from `from` (per partition, default 0). */
export async function readTopic(
  log: Log,
  topic: string,
  from: ReadonlyMap<number, number> = new Map(),
): Promise<LogRecord[]> {
  const info = await log.describeTopic(topic);
  if (info === undefined) return [];
  const out: LogRecord[] = [];
  for (let p = 0; p < info.partitions; p++) {
    let offset = from.get(p) ?? 0;
    for (;;) {
      const records = await log.read(topic, p, offset, 10_000);
      if (records.length === 0) break;
      for (const r of records) out.push(r);
      offset = (records.at(-1) as LogRecord).offset + 1;
    }
  }
  return out;
}

/**
 * The values of a dataset's topic, parsed; across partitions, ordered by append time then partition.
 *
 * @example
 * const enriched = await readRecords(log, enrichedOrders)
 */
export async function readRecords<T = unknown>(log: Log, dataset: Dataset<T>): Promise<T[]> {
  const records = await readTopic(log, dataset.topic);
  records.sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);
  return records.map((r) => JSON.parse(r.value) as T);
}
