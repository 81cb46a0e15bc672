import { isSlipwayError } from '../errors.js';
import type { Log, LogRecord } from './log.js';

/** Records read per `read` call. */
const STEP = 1000;

/**
 * The last `n` records of a partition (fewer when it holds fewer), oldest first, and the end offset they were
 * read up to. Offsets may have gaps (on Kafka every transaction leaves a marker that takes one), so `end - n` is
 * not where the last n records start: this reads back from the end in growing windows until it has n, or
 * reaches the partition's start (past retention, where Kafka's log now starts).
 *
 * @example
 * const { records, end } = await lastRecords(log, 'orders.v1', 0, 10)
 */
export async function lastRecords(
  log: Log,
  topic: string,
  partition: number,
  n: number,
): Promise<{ records: LogRecord[]; end: number }> {
  const end = await log.endOffset(topic, partition);
  let found: LogRecord[] = [];
  let start = 0;
  let to = end;
  for (let window = Math.max(1, n); n > 0 && found.length < n && to > start; window *= 2) {
    const from = Math.max(start, end - window);
    try {
      found = (await readRange(log, topic, partition, from, to)).concat(found);
    } catch (err) {
      const logStart = isSlipwayError(err, 'SLIPWAY_INVALID_OFFSET') ? err.details.logStart : undefined;
      if (typeof logStart !== 'number' || logStart <= from) throw err;
      // Retention removed the records before logStart: read from there instead.
      start = logStart;
      window /= 2;
      continue;
    }
    to = from;
  }
  return { records: found.slice(Math.max(0, found.length - n)), end };
}

/** Every record of a partition with an offset in [from, to). */
async function readRange(log: Log, topic: string, partition: number, from: number, to: number): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (let position = from; position < to; ) {
    const records = await log.read(topic, partition, position, Math.min(STEP, to - position));
    for (const r of records) if (r.offset < to) out.push(r);
    if (records.length === 0) break;
    position = (records.at(-1) as LogRecord).offset + 1;
  }
  return out;
}
