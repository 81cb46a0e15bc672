import type { Log, LogRecord } from '../log/log.js';
import { type ReplayMarker, replayMarkerTopic } from './dead-letters.js';
import { SOURCE_HEADER } from './runner-types.js';

export interface ExactlyOnceReport {
  inputs: number;
  /** Inputs with neither an output nor a dead letter. */
  lost: number;
  /**
   * Extra outputs for one source (beyond one per emit index), dead letters beside outputs that no replay explains,
   * and replays applied more than once.
   */
  duplicated: number;
  /** Inputs that went to the DLQ (distinct sources), whether replayed since or not. */
  deadLettered: number;
  /** Dead-lettered sources a replay processed since: their dead letter, one `replayed` marker and one set of outputs. */
  replayed: number;
  /** Dead-lettered sources a replay tried and dead-lettered again (each such try adds a dead letter and a marker). */
  failedAgain: number;
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

const count = (map: Map<string, number>, key: string): number => {
  const n = (map.get(key) ?? 0) + 1;
  map.set(key, n);
  return n;
};

/**
 * Checks, by the `slipway-source` header, that every input record in [`from`, `upTo`) (default: all)
 * has exactly one output per emit (or one dead letter), and that no output was written twice.
 * This is the check behind every deployment test and benchmark.
 *
 * Replays of dead letters (`slipway dlq replay`) are understood from their markers (`<dlq>.replayed`, or
 * `replayed`): a replayed source has its dead letter, one `replayed` marker and exactly one set of outputs; a
 * source a replay dead-lettered again has one more dead letter per such marker. Anything beyond — an output
 * twice, a dead letter beside outputs without a replay, a replay applied twice — counts as duplicated.
 */
export async function checkExactlyOnce(
  log: Log,
  request: {
    input: string;
    outputs: string[];
    dlq?: string;
    /** The replay markers' topic (default `<dlq>.replayed`). */
    replayed?: string;
    from?: Map<number, number>;
    upTo?: Map<number, number>;
  },
): Promise<ExactlyOnceReport> {
  const seen = new Map<string, number>();
  let duplicated = 0;
  const dupExamples: string[] = [];
  const duplicate = (source: string, n = 1): void => {
    duplicated += n;
    if (dupExamples.length < 5) dupExamples.push(source);
  };
  /** Sources with an output (any emit index). */
  const produced = new Set<string>();
  for (const topic of request.outputs)
    await readTopic(log, topic, (r) => {
      const source = r.headers[SOURCE_HEADER];
      if (source === undefined) return;
      if (count(seen, source) > 1) duplicate(source);
      const hash = source.indexOf('#');
      produced.add(hash < 0 ? source : source.slice(0, hash));
    });
  const dead = new Map<string, number>();
  const replays = new Map<string, number>();
  const retries = new Map<string, number>();
  if (request.dlq !== undefined && (await log.describeTopic(request.dlq)) !== undefined) {
    await readTopic(log, request.dlq, (r) => {
      const source = r.headers[SOURCE_HEADER];
      if (source !== undefined) count(dead, source);
    });
    await readTopic(log, request.replayed ?? replayMarkerTopic(request.dlq), (r) => {
      let marker: Partial<ReplayMarker> = {};
      try {
        marker = JSON.parse(r.value) as ReplayMarker;
      } catch {
        return;
      }
      const source = r.key ?? marker.source;
      if (typeof source !== 'string') return;
      if (marker.outcome === 'replayed') count(replays, source);
      else count(retries, source);
    });
  }
  let replayed = 0;
  let failedAgain = 0;
  for (const [source, letters] of dead) {
    const r = replays.get(source) ?? 0;
    const f = retries.get(source) ?? 0;
    if (r > 0) replayed++;
    else if (f > 0) failedAgain++;
    // A replay applied twice; a dead letter beside outputs that no replay made; dead letters no replay explains.
    if (r > 1) duplicate(source, r - 1);
    if (produced.has(source) && r === 0) duplicate(source);
    if (letters > 1 + f) duplicate(source, letters - 1 - f);
  }
  for (const source of replays.keys()) if (!dead.has(source)) duplicate(source);
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
    replayed,
    failedAgain,
    examples: { lost: lostExamples, duplicated: dupExamples },
  };
}
