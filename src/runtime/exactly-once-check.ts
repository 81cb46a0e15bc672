import type { Log, LogRecord } from '../log/log.js';
import { SOURCE_HEADER } from './runner.js';

export interface ExactlyOnceReport {
  inputs: number;
  /** Inputs with neither an output nor a dead letter. */
  lost: number;
  /** Extra outputs for one source (beyond one per emit index). */
  duplicated: number;
  /** Inputs that went to the DLQ instead. */
  deadLettered: number;
  /** A few lost / duplicated sources, for the message. */
  examples: { lost: string[]; duplicated: string[] };
}

async function readTopic(log: Log, topic: string, each: (r: LogRecord) => void): Promise<void> {
  const info = await log.describeTopic(topic);
  for (let p = 0; p < (info?.partitions ?? 0); p++) {
    let offset = 0;
    for (;;) {
      const records = await log.read(topic, p, offset, 10_000);
      if (records.length === 0) break;
      for (const r of records) each(r);
      offset = (records.at(-1) as LogRecord).offset + 1;
    }
  }
}

/**
 * Checks, by the `slipway-source` header, that every input record in [`from`, `upTo`) (default: all)
 * has exactly one output per emit (or one dead letter), and that no output was written twice.
 * This is the check behind every deployment test and benchmark.
 */
export async function checkExactlyOnce(
  log: Log,
  request: { input: string; outputs: string[]; dlq?: string; from?: Map<number, number>; upTo?: Map<number, number> },
): Promise<ExactlyOnceReport> {
  const seen = new Map<string, number>();
  let duplicated = 0;
  const dupExamples: string[] = [];
  const count = (r: LogRecord): void => {
    const source = r.headers[SOURCE_HEADER];
    if (source === undefined) return;
    const n = (seen.get(source) ?? 0) + 1;
    seen.set(source, n);
    if (n > 1) {
      duplicated++;
      if (dupExamples.length < 5) dupExamples.push(source);
    }
  };
  for (const topic of request.outputs) await readTopic(log, topic, count);
  const dead = new Set<string>();
  if (request.dlq !== undefined && (await log.describeTopic(request.dlq)) !== undefined) {
    await readTopic(log, request.dlq, (r) => {
      const source = r.headers[SOURCE_HEADER];
      if (source === undefined) return;
      if (dead.has(source) || seen.has(source)) {
        duplicated++;
        if (dupExamples.length < 5) dupExamples.push(source);
      }
      dead.add(source);
    });
  }
  let inputs = 0;
  let lost = 0;
  const lostExamples: string[] = [];
  await readTopic(log, request.input, (r) => {
    const limit = request.upTo?.get(r.partition);
    if (limit !== undefined && r.offset >= limit) return;
    if (r.offset < (request.from?.get(r.partition) ?? 0)) return;
    inputs++;
    const source = `${r.topic}/${r.partition}/${r.offset}`;
    if (!seen.has(source) && !dead.has(source)) {
      lost++;
      if (lostExamples.length < 5) lostExamples.push(source);
    }
  });
  return {
    inputs,
    lost,
    duplicated,
    deadLettered: dead.size,
    examples: { lost: lostExamples, duplicated: dupExamples },
  };
}
