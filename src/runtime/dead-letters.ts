// Dead letters as Slipway reads them back: each entry of an input's dead-letter topic (`<input>.dlq`) parsed into
// the input record it stands for, why it failed and which version wrote it; the replay markers
// (`<input>.dlq.replayed`) that say which sources a replay already took care of; selections, groups and the
// replay plan. Read-only: `slipway dlq`, the controller's replay plan and the runner's replay all read through it.
import { isSlipwayError, SlipwayError } from '../errors.js';
import type { Log, LogRecord } from '../log/log.js';
import { DLQ_HEADERS, type DlqReason, SOURCE_HEADER } from './runner-types.js';

/** Header of a dead letter written by a replay (the record failed again): the replay's deployment id. */
export const REPLAY_HEADER = 'slipway-replay';

/** The replay markers of a dead-letter topic: `<input>.dlq.replayed`, keyed by source, one partition per input partition. */
export const replayMarkerTopic = (dlqTopic: string): string => `${dlqTopic}.replayed`;

/** What a group or an entry shows for a header an older dead letter does not carry. */
export const UNKNOWN = 'unknown';

/** One entry of a dead-letter topic. */
export interface DeadLetter {
  /** Where the entry is: the dead-letter topic, partition and offset. */
  topic: string;
  partition: number;
  offset: number;
  /** The input record it stands for, as `<topic>/<partition>/<offset>` (the `slipway-source` header). */
  source: string;
  input: { topic: string; partition: number; offset: number };
  reason: string;
  message: string;
  code: string | null;
  /** The pipeline that wrote it (from the entry's value), when it says. */
  pipeline: string | null;
  /** Which version wrote it (headers; an older entry without them: `unknown`). */
  version: string;
  artifact: string;
  deployment: string;
  /** The replay that wrote it (the record failed again when replayed), or null. */
  replay: string | null;
  /** The input record's key and value (its text), as the dead letter keeps them; value null when unreadable. */
  key: string | null;
  value: string | null;
  /**
   * The input value's original bytes, base64, when it could not be decoded (`unknown-schema-id`, `undecodable`:
   * a schema-registry format); `value` is null then.
   */
  valueBase64?: string;
  /** The schema id such a value named, when it named one. */
  schemaId?: number;
  /** When it was written, ms since the epoch. */
  at: number;
}

/** What a replay did with one source: processed with its outputs, or dead-lettered again. */
export type ReplayOutcomeKind = 'replayed' | 'dead-lettered';

/** A replay marker: written in the same atomic commit as the replayed record's outputs (or its new dead letter). */
export interface ReplayMarker {
  source: string;
  outcome: ReplayOutcomeKind;
  /** The replay (its deployment id). */
  replay: string;
  /** The version that replayed it. */
  version: string;
  artifact?: string;
  /** Output records it produced. */
  outputs: number;
  at: number;
}

/** Where a source stands: never replayed, replayed (with its outputs), or replayed and dead-lettered again. */
export type ReplayStatus = 'not-replayed' | 'replayed' | 'failed-again';

/** Input records by source: a topic, a partition, and an offset range (both ends included). */
export interface SourceRange {
  topic: string;
  partition: number;
  from?: number;
  to?: number;
}

/** Which dead letters: every field given must match (none: all of them). */
export interface DeadLetterSelection {
  /** Written by this deployment (the `slipway-deployment` header). */
  deployment?: string;
  /** Written by this artifact (digest, or a prefix of it). */
  artifact?: string;
  /** Written by this pipeline version. */
  version?: string;
  reason?: DlqReason | string;
  source?: SourceRange;
  /** Of this pipeline (the entry's own record of it). */
  pipeline?: string;
}

/** A group of dead letters: same reason, same version, artifact and deployment. */
export interface DeadLetterGroup {
  topic: string;
  reason: string;
  version: string;
  artifact: string;
  deployment: string;
  /** Dead letters in the group, and the distinct sources among them. */
  count: number;
  sources: number;
  /** Sources of the group a replay processed, and those it dead-lettered again. */
  replayed: number;
  failedAgain: number;
  firstAt: number;
  lastAt: number;
  example: string;
}

/**
 * Parses `<topic>/<partition>`, `<topic>/<partition>/<offset>` or `<topic>/<partition>/<from>-<to>` (either end
 * may be left out: `120-`, `-500`). Offsets are the input's; both ends are included.
 *
 * @example
 * parseSourceRange('orders.v1/2/100-200') // { topic: 'orders.v1', partition: 2, from: 100, to: 200 }
 */
export function parseSourceRange(text: string): SourceRange {
  const bad = (): SlipwayError =>
    new SlipwayError(
      'SLIPWAY_USAGE',
      `--source takes <topic>/<partition>[/<from>-<to>], e.g. orders.v1/2/100-200 (offsets of the input, both included); got '${text}'.`,
      { details: { source: text } },
    );
  const parts = text.split('/');
  const whole = (s: string | undefined): number | undefined => {
    if (s === undefined || s === '') return undefined;
    const n = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(n)) throw bad();
    return n;
  };
  if (parts.length < 2 || parts.length > 3 || (parts[0] ?? '') === '') throw bad();
  const partition = whole(parts[1]);
  if (partition === undefined) throw bad();
  const range: SourceRange = { topic: parts[0] as string, partition };
  const offsets = parts[2];
  if (offsets !== undefined) {
    const [from, to, ...rest] = offsets.split('-');
    if (rest.length > 0 || offsets === '' || offsets === '-') throw bad();
    const f = whole(from);
    const t = offsets.includes('-') ? whole(to) : f;
    if (f !== undefined) range.from = f;
    if (t !== undefined) range.to = t;
    if (f !== undefined && t !== undefined && t < f) throw bad();
  }
  return range;
}

/** `<topic>/<partition>/<offset>` as its parts, or undefined when it is not one. */
export function parseSource(source: string): { topic: string; partition: number; offset: number } | undefined {
  const b = source.lastIndexOf('/');
  const a = source.lastIndexOf('/', b - 1);
  if (a <= 0) return undefined;
  const partition = Number(source.slice(a + 1, b));
  const offset = Number(source.slice(b + 1));
  if (!Number.isSafeInteger(partition) || !Number.isSafeInteger(offset) || partition < 0 || offset < 0)
    return undefined;
  return { topic: source.slice(0, a), partition, offset };
}

/** Reads every record of every partition of `topic` (from the first one retention kept), in offset order. */
async function readTopic(log: Log, topic: string, each: (r: LogRecord) => void): Promise<void> {
  const info = await log.describeTopic(topic);
  for (let p = 0; p < (info?.partitions ?? 0); p++) {
    let offset = 0;
    for (;;) {
      let records: LogRecord[];
      try {
        records = await log.read(topic, p, offset, 10_000);
      } catch (err) {
        const start = isSlipwayError(err, 'SLIPWAY_INVALID_OFFSET') ? err.details.logStart : undefined;
        if (typeof start !== 'number' || start <= offset) throw err;
        offset = start;
        continue;
      }
      if (records.length === 0) break;
      for (const r of records) each(r);
      offset = (records.at(-1) as LogRecord).offset + 1;
    }
  }
}

/** One dead-letter record as a DeadLetter; undefined when it names no source. */
export function parseDeadLetter(r: LogRecord): DeadLetter | undefined {
  const source = r.headers[SOURCE_HEADER];
  const input = source === undefined ? undefined : parseSource(source);
  if (source === undefined || input === undefined) return undefined;
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(r.value);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    // An entry whose value is not JSON: listed, never replayed (its record's value is unknown).
  }
  const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    source,
    input,
    reason: r.headers[DLQ_HEADERS.reason] ?? text(body.reason) ?? UNKNOWN,
    message: text(body.message) ?? '',
    code: text(body.code),
    pipeline: text(body.pipeline),
    version: r.headers[DLQ_HEADERS.version] ?? UNKNOWN,
    artifact: r.headers[DLQ_HEADERS.artifact] ?? UNKNOWN,
    deployment: r.headers[DLQ_HEADERS.deployment] ?? UNKNOWN,
    replay: r.headers[REPLAY_HEADER] ?? null,
    key: text(body.key) ?? r.key,
    value: text(body.value),
    ...(typeof body.valueBase64 === 'string' ? { valueBase64: body.valueBase64 } : {}),
    ...(typeof body.schemaId === 'number' ? { schemaId: body.schemaId } : {}),
    at: r.timestamp,
  };
}

/** Every dead letter of a dead-letter topic (none when it does not exist). */
export async function readDeadLetters(log: Log, dlqTopic: string): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  await readTopic(log, dlqTopic, (r) => {
    const letter = parseDeadLetter(r);
    if (letter !== undefined) out.push(letter);
  });
  return out;
}

/** The replay markers of a dead-letter topic, by source, in the order they were written. */
export async function readReplayMarkers(log: Log, dlqTopic: string): Promise<Map<string, ReplayMarker[]>> {
  const out = new Map<string, ReplayMarker[]>();
  await readTopic(log, replayMarkerTopic(dlqTopic), (r) => {
    let marker: ReplayMarker;
    try {
      marker = JSON.parse(r.value) as ReplayMarker;
    } catch {
      return;
    }
    const source = r.key ?? marker.source;
    if (typeof source !== 'string') return;
    let list = out.get(source);
    if (list === undefined) {
      list = [];
      out.set(source, list);
    }
    list.push(marker);
  });
  return out;
}

/** Where a source stands after the replays recorded for it. */
export function replayStatus(markers: ReadonlyArray<ReplayMarker> | undefined): ReplayStatus {
  if (markers === undefined || markers.length === 0) return 'not-replayed';
  return markers.some((m) => m.outcome === 'replayed') ? 'replayed' : 'failed-again';
}

/** Whether a dead letter is in the selection. */
export function selects(selection: DeadLetterSelection, letter: DeadLetter): boolean {
  const s = selection;
  if (s.deployment !== undefined && letter.deployment !== s.deployment) return false;
  if (s.artifact !== undefined && !letter.artifact.startsWith(s.artifact)) return false;
  if (s.version !== undefined && letter.version !== s.version) return false;
  if (s.reason !== undefined && letter.reason !== s.reason) return false;
  if (s.pipeline !== undefined && letter.pipeline !== null && letter.pipeline !== s.pipeline) return false;
  const range = s.source;
  if (range !== undefined) {
    const i = letter.input;
    if (i.topic !== range.topic || i.partition !== range.partition) return false;
    if (range.from !== undefined && i.offset < range.from) return false;
    if (range.to !== undefined && i.offset > range.to) return false;
  }
  return true;
}

/** Dead letters grouped by topic, reason, version, artifact and deployment (most first), with their replays. */
export function groupDeadLetters(
  letters: ReadonlyArray<DeadLetter>,
  markers: ReadonlyMap<string, ReadonlyArray<ReplayMarker>>,
): DeadLetterGroup[] {
  const groups = new Map<string, DeadLetterGroup & { seen: Set<string> }>();
  for (const l of letters) {
    const id = JSON.stringify([l.topic, l.reason, l.version, l.artifact, l.deployment]);
    let g = groups.get(id);
    if (g === undefined) {
      g = {
        topic: l.topic,
        reason: l.reason,
        version: l.version,
        artifact: l.artifact,
        deployment: l.deployment,
        count: 0,
        sources: 0,
        replayed: 0,
        failedAgain: 0,
        firstAt: l.at,
        lastAt: l.at,
        example: l.message,
        seen: new Set(),
      };
      groups.set(id, g);
    }
    g.count++;
    g.firstAt = Math.min(g.firstAt, l.at);
    g.lastAt = Math.max(g.lastAt, l.at);
    if (g.seen.has(l.source)) continue;
    g.seen.add(l.source);
    g.sources++;
    const status = replayStatus(markers.get(l.source));
    if (status === 'replayed') g.replayed++;
    else if (status === 'failed-again') g.failedAgain++;
  }
  return [...groups.values()]
    .map(({ seen: _seen, ...g }) => g)
    .sort((a, b) => b.count - a.count || a.firstAt - b.firstAt);
}

/** What a replay of a selection would do: how many sources it selects, which are done already, which it replays. */
export interface ReplayPlan {
  /** Distinct sources the selection names. */
  selected: number;
  /** Of those, already replayed (with their outputs): skipped. */
  alreadyReplayed: number;
  /** Of those, dead-lettered again by an earlier replay: skipped unless `retryFailed`. */
  failedAgain: number;
  /** Without a readable value: cannot be replayed. */
  unreadable: number;
  /** The sources to replay, one dead letter each, by input topic, partition and offset. */
  toReplay: DeadLetter[];
}

/**
 * The replay plan of one dead-letter topic: the selected dead letters, one per source (a source dead-lettered
 * again by a replay has several entries), less those a replay took care of — by default also those it
 * dead-lettered again, which `retryFailed` replays once more. A source a replay processed is never replayed again.
 */
export function planReplay(
  letters: ReadonlyArray<DeadLetter>,
  markers: ReadonlyMap<string, ReadonlyArray<ReplayMarker>>,
  selection: DeadLetterSelection,
  options: { retryFailed?: boolean } = {},
): ReplayPlan {
  const bySource = new Map<string, DeadLetter>();
  for (const l of letters) {
    if (!selects(selection, l)) continue;
    const first = bySource.get(l.source);
    // The entry that keeps the record's value: the first readable one (they all hold the same record).
    if (first === undefined || (first.value === null && l.value !== null)) bySource.set(l.source, l);
  }
  const plan: ReplayPlan = { selected: bySource.size, alreadyReplayed: 0, failedAgain: 0, unreadable: 0, toReplay: [] };
  for (const [source, letter] of bySource) {
    const status = replayStatus(markers.get(source));
    if (status === 'replayed') plan.alreadyReplayed++;
    else if (status === 'failed-again' && options.retryFailed !== true) plan.failedAgain++;
    else if (letter.value === null) plan.unreadable++;
    else plan.toReplay.push(letter);
  }
  plan.toReplay.sort(
    (a, b) =>
      a.input.topic.localeCompare(b.input.topic) ||
      a.input.partition - b.input.partition ||
      a.input.offset - b.input.offset,
  );
  return plan;
}

/** The dead-letter topics and their markers, read and planned as one: what `slipway dlq` and a replay's plan show. */
export async function planReplayOf(
  log: Log,
  dlqTopics: ReadonlyArray<string>,
  selection: DeadLetterSelection,
  options: { retryFailed?: boolean } = {},
): Promise<ReplayPlan> {
  const total: ReplayPlan = { selected: 0, alreadyReplayed: 0, failedAgain: 0, unreadable: 0, toReplay: [] };
  for (const topic of dlqTopics) {
    const plan = planReplay(await readDeadLetters(log, topic), await readReplayMarkers(log, topic), selection, options);
    total.selected += plan.selected;
    total.alreadyReplayed += plan.alreadyReplayed;
    total.failedAgain += plan.failedAgain;
    total.unreadable += plan.unreadable;
    total.toReplay.push(...plan.toReplay);
  }
  return total;
}
