import type { Log, LogRecord, PartitionOffset } from '../log/log.js';
import { SOURCE_HEADER } from '../runtime/runner.js';

/** The shadow diff: green's shadow output against blue's real output, record by record, matched by source. */
export interface OutputDiff {
  /** Sources seen on either side. */
  compared: number;
  /** Same source on both sides, the same value (no field differs). */
  identical: number;
  /**
   * Same source on both sides, differing only in fields the release declared it would change
   * (`allowChangedFields`): expected, so not in `ratio`. Absent in diffs recorded before it was counted
   * apart (those counted such records as identical).
   */
  changedAllowed?: number;
  /** Same source on both sides, different value beyond the allowed fields: unexpected. */
  changed: number;
  /** Blue wrote it, green did not. */
  missing: number;
  /** Green wrote it, blue did not. */
  extra: number;
  /** How often each top-level field differed (allowed fields included, for information). */
  changedFields: Record<string, number>;
  /** The fields the release was allowed to change, as given (absent in diffs recorded before they were kept). */
  allowedFields?: string[];
  /** A few examples of each kind, for the report. */
  examples: Array<{ kind: 'changed' | 'missing' | 'extra'; topic: string; source: string; fields?: string[] }>;
  /** (changed + missing + extra) / compared; 0 when nothing was compared. */
  ratio: number;
}

export interface DiffRequest {
  log: Log;
  /** Pairs of live and shadow output topics, with where blue's output for the range starts. */
  outputs: Array<{ live: string; shadow: string; liveFrom: PartitionOffset[] }>;
  /** Input offsets [from, to) per input partition: only outputs of these inputs are compared. */
  from: PartitionOffset[];
  to: PartitionOffset[];
  allowChangedFields?: string[];
}

function parseSource(source: string): { topic: string; partition: number; offset: number } | undefined {
  const base = source.split('#')[0] as string;
  const last = base.lastIndexOf('/');
  const mid = base.lastIndexOf('/', last - 1);
  if (last < 0 || mid < 0) return undefined;
  return {
    topic: base.slice(0, mid),
    partition: Number(base.slice(mid + 1, last)),
    offset: Number(base.slice(last + 1)),
  };
}

async function readFrom(
  log: Log,
  topic: string,
  starts: Map<number, number>,
  partitions: number,
): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (let p = 0; p < partitions; p++) {
    let offset = starts.get(p) ?? 0;
    for (;;) {
      const records = await log.read(topic, p, offset, 5000);
      if (records.length === 0) break;
      for (const r of records) out.push(r);
      offset = (records.at(-1) as LogRecord).offset + 1;
    }
  }
  return out;
}

/**
 * The fields two output values differ in; a value that is not JSON text (an Avro value of a registry format, read
 * as bytes by a log handle without codecs) differs as a whole: `(value)`.
 */
function valueDifference(blue: string, shadow: string): string[] {
  let a: unknown;
  let b: unknown;
  try {
    a = JSON.parse(blue);
    b = JSON.parse(shadow);
  } catch {
    return ['(value)'];
  }
  return differingFields(a, b);
}

function differingFields(a: unknown, b: unknown): string[] {
  if (
    typeof a !== 'object' ||
    typeof b !== 'object' ||
    a === null ||
    b === null ||
    Array.isArray(a) ||
    Array.isArray(b)
  ) {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : ['(value)'];
  }
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
  const diff: string[] = [];
  for (const f of fields) {
    if (JSON.stringify((a as Record<string, unknown>)[f]) !== JSON.stringify((b as Record<string, unknown>)[f]))
      diff.push(f);
  }
  return diff;
}

/** Compares shadow and live outputs of the same inputs, matched by their `slipway-source` header. */
export async function diffOutputs(request: DiffRequest): Promise<OutputDiff> {
  const key = (o: { topic: string; partition: number }) => `${o.topic}/${o.partition}`;
  const from = new Map(request.from.map((o) => [key(o), o.offset]));
  const to = new Map(request.to.map((o) => [key(o), o.offset]));
  const inRange = (source: string): boolean => {
    const s = parseSource(source);
    if (s === undefined) return false;
    const end = to.get(key(s));
    return end !== undefined && s.offset >= (from.get(key(s)) ?? 0) && s.offset < end;
  };
  const pairs: OutputPair[] = [];
  for (const pair of request.outputs) {
    const info = await request.log.describeTopic(pair.live);
    const partitions = info?.partitions ?? 0;
    const live = new Map<string, string>();
    const liveStarts = new Map(pair.liveFrom.filter((o) => o.topic === pair.live).map((o) => [o.partition, o.offset]));
    for (const r of await readFrom(request.log, pair.live, liveStarts, partitions)) {
      const source = r.headers[SOURCE_HEADER];
      if (source !== undefined && inRange(source)) live.set(source, r.value);
    }
    const shadow = new Map<string, string>();
    const shadowInfo = await request.log.describeTopic(pair.shadow);
    for (const r of await readFrom(request.log, pair.shadow, new Map(), shadowInfo?.partitions ?? 0)) {
      const source = r.headers[SOURCE_HEADER];
      if (source !== undefined && inRange(source)) shadow.set(source, r.value);
    }
    pairs.push({ topic: pair.live, live, shadow });
  }
  return compareOutputs(pairs, request.allowChangedFields);
}

/** One output dataset's records on each side, by source (`slipway-source`) → value as JSON text. */
export interface OutputPair {
  topic: string;
  live: ReadonlyMap<string, string>;
  shadow: ReadonlyMap<string, string>;
}

/**
 * The record-by-record comparison itself: identical, changed only in allowed fields, changed (which
 * fields), missing, extra. Every compared source is counted in exactly one of them.
 */
export function compareOutputs(pairs: readonly OutputPair[], allowChangedFields: readonly string[] = []): OutputDiff {
  const allowed = new Set(allowChangedFields);
  const result: OutputDiff = {
    compared: 0,
    identical: 0,
    changedAllowed: 0,
    changed: 0,
    missing: 0,
    extra: 0,
    changedFields: {},
    allowedFields: [...allowed],
    examples: [],
    ratio: 0,
  };
  let changedAllowed = 0;
  const example = (e: OutputDiff['examples'][number]): void => {
    if (result.examples.filter((x) => x.kind === e.kind).length < 5) result.examples.push(e);
  };
  for (const { topic, live, shadow } of pairs) {
    for (const [source, value] of shadow) {
      result.compared++;
      const blue = live.get(source);
      if (blue === undefined) {
        result.extra++;
        example({ kind: 'extra', topic, source });
        continue;
      }
      const fields = blue === value ? [] : valueDifference(blue, value);
      for (const f of fields) result.changedFields[f] = (result.changedFields[f] ?? 0) + 1;
      if (fields.length === 0) result.identical++;
      else if (fields.every((f) => allowed.has(f))) changedAllowed++;
      else {
        result.changed++;
        example({ kind: 'changed', topic, source, fields });
      }
    }
    for (const source of live.keys()) {
      if (shadow.has(source)) continue;
      result.compared++;
      result.missing++;
      example({ kind: 'missing', topic, source });
    }
  }
  result.changedAllowed = changedAllowed;
  result.ratio = result.compared === 0 ? 0 : (result.changed + result.missing + result.extra) / result.compared;
  return result;
}
