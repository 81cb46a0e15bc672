/**
 * Topics as code: every dataset declares its topic's partitions and retention; `planTopics` compares the
 * declarations with the log, `applyTopics` creates the missing topics. An existing topic that differs from its
 * declaration is reported (`mismatch`), never changed: partition counts and retention of live topics are
 * changed by people, on purpose, or by a new dataset version (a new topic).
 *
 * Retention lives where the engine keeps it: Kafka's `retention.ms` (native, enforced by Kafka); on engines
 * without topic settings (the embedded log) Slipway records it (see recorded-settings.ts): reported, not
 * enforced. Every creator of a dataset's topic (runners, produce, apply) records it (dataset-topic.ts); a topic
 * with no recorded retention (created before it was declared, or by an older Slipway) has nothing to compare:
 * `applyTopics` records the declared value, which is a first declaration, not a change.
 */
import type { Dataset } from '../dataset/dataset.js';
import { formatRetention } from '../dataset/retention.js';
import { SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { createDatasetTopic } from './dataset-topic.js';
import { type RecordedSettings, readRecordedSettings, recordSettings } from './recorded-settings.js';

/** `missing`: not there yet (a plan); `created`: created by apply; `mismatch`: exists, differs, left alone. */
export type TopicStatus = 'ok' | 'missing' | 'created' | 'mismatch';

export interface TopicDifference {
  field: 'partitions' | 'retention';
  /** Declared value (retention in ms, -1 = forever). */
  declared: number;
  actual: number;
}

export interface TopicPlanEntry {
  /** `name@version` of the dataset. */
  dataset: string;
  topic: string;
  status: TopicStatus;
  declared: { partitions: number; retentionMs?: number };
  /** What the log has (after apply, for created topics); undefined while missing. `retentionMs` undefined: not known. */
  actual?: { partitions: number; retentionMs?: number };
  differences: TopicDifference[];
  /** The dataset names this existing topic (`topic` in its definition): never created or changed by Slipway. */
  existing?: true;
}

export interface TopicPlan {
  /** The log engine (`embedded`, `kafka`). */
  engine: string;
  /** `native`: the engine keeps and enforces retention; `recorded`: Slipway records it, nothing enforces it. */
  retention: 'native' | 'recorded';
  entries: TopicPlanEntry[];
}

/** The distinct declarations, one per topic; two datasets declaring one topic differently is a definition error. */
function declarations(datasets: ReadonlyArray<Dataset>): Dataset[] {
  const byTopic = new Map<string, Dataset>();
  for (const d of datasets) {
    const seen = byTopic.get(d.topic);
    if (seen === undefined) byTopic.set(d.topic, d);
    else if (seen.partitions !== d.partitions || seen.retentionMs !== d.retentionMs) {
      throw new SlipwayError(
        'SLIPWAY_INVALID_DEFINITION',
        `Datasets ${seen.name}@${seen.version} and ${d.name}@${d.version} both declare topic '${d.topic}' but with different partitions or retention. Declare it the same way in both.`,
        { details: { topic: d.topic } },
      );
    }
  }
  return [...byTopic.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
}

async function actualOf(
  log: Log,
  topic: string,
  recorded: Map<string, RecordedSettings> | undefined,
): Promise<TopicPlanEntry['actual']> {
  const info = await log.describeTopic(topic);
  if (info === undefined) return undefined;
  if (recorded === undefined && log.topicSettings !== undefined) {
    const settings = await log.topicSettings(topic);
    return { partitions: info.partitions, ...(settings === undefined ? {} : { retentionMs: settings.retentionMs }) };
  }
  const retentionMs = recorded?.get(topic)?.retentionMs;
  return { partitions: info.partitions, ...(retentionMs === undefined ? {} : { retentionMs }) };
}

function entryFor(d: Dataset, actual: TopicPlanEntry['actual'], status?: TopicStatus): TopicPlanEntry {
  const declared = { partitions: d.partitions, ...(d.retentionMs === undefined ? {} : { retentionMs: d.retentionMs }) };
  const differences: TopicDifference[] = [];
  if (actual !== undefined) {
    if (actual.partitions !== d.partitions) {
      differences.push({ field: 'partitions', declared: d.partitions, actual: actual.partitions });
    }
    if (d.retentionMs !== undefined && actual.retentionMs !== undefined && actual.retentionMs !== d.retentionMs) {
      differences.push({ field: 'retention', declared: d.retentionMs, actual: actual.retentionMs });
    }
  }
  const computed: TopicStatus = actual === undefined ? 'missing' : differences.length > 0 ? 'mismatch' : 'ok';
  return {
    dataset: `${d.name}@${d.version}`,
    topic: d.topic,
    status: status ?? computed,
    declared,
    ...(actual === undefined ? {} : { actual }),
    differences,
    ...(d.existingTopic === true ? { existing: true as const } : {}),
  };
}

/**
 * Compares each dataset's declared partitions and retention with its topic in the log. Changes nothing.
 *
 * @example
 * const plan = await planTopics(log, [orders, enrichedOrders])
 * for (const e of plan.entries) console.log(e.topic, e.status) // orders.v1 ok, enriched-orders.v1 missing
 */
export async function planTopics(log: Log, datasets: ReadonlyArray<Dataset>): Promise<TopicPlan> {
  const native = log.topicSettings !== undefined;
  const recorded = native ? undefined : await readRecordedSettings(log);
  const entries: TopicPlanEntry[] = [];
  for (const d of declarations(datasets)) entries.push(entryFor(d, await actualOf(log, d.topic, recorded)));
  return { engine: log.engine, retention: native ? 'native' : 'recorded', entries };
}

/**
 * Creates the missing topics with their declared partitions and retention, and reports the rest: `ok`, or
 * `mismatch` (left as it is). Throws nothing for mismatches: check `topicMismatchError(plan)`.
 *
 * @example
 * const plan = await applyTopics(log, datasets)
 * const mismatch = topicMismatchError(plan)
 * if (mismatch) throw mismatch
 */
export async function applyTopics(log: Log, datasets: ReadonlyArray<Dataset>): Promise<TopicPlan> {
  const plan = await planTopics(log, datasets);
  const native = plan.retention === 'native';
  const byTopic = new Map(declarations(datasets).map((d) => [d.topic, d]));
  const toRecord: Array<[string, RecordedSettings]> = [];
  const entries: TopicPlanEntry[] = [];
  for (const entry of plan.entries) {
    const d = byTopic.get(entry.topic) as Dataset;
    // A topic a dataset names is someone else's: never created here (reported by topicMismatchError).
    if (entry.status === 'missing' && d.existingTopic === true) {
      entries.push(entry);
      continue;
    }
    if (entry.status === 'missing') {
      let created: boolean;
      try {
        // The same rule as every other creator (runners, produce): partitions and retention, recorded if not native.
        created = await createDatasetTopic(log, d);
      } catch (err) {
        // Created meanwhile by someone else, with other partitions: report it like any mismatch.
        if ((err as SlipwayError).code !== 'SLIPWAY_TOPIC_MISMATCH') throw err;
        created = false;
      }
      if (!created) {
        // Someone else created it meanwhile: report what it is.
        entries.push(entryFor(d, await actualOf(log, d.topic, native ? undefined : await readRecordedSettings(log))));
        continue;
      }
      const actual = native
        ? await actualOf(log, d.topic, undefined)
        : { partitions: d.partitions, ...(d.retentionMs === undefined ? {} : { retentionMs: d.retentionMs }) };
      entries.push({ ...entryFor(d, actual), status: 'created' });
      continue;
    }
    if (!native && entry.status === 'ok' && d.retentionMs !== undefined && entry.actual?.retentionMs === undefined) {
      // Never recorded (the topic predates the declaration): a first declaration, recorded, not a change.
      toRecord.push([d.topic, { retentionMs: d.retentionMs }]);
      entries.push({
        ...entry,
        actual: { partitions: entry.actual?.partitions as number, retentionMs: d.retentionMs },
      });
      continue;
    }
    entries.push(entry);
  }
  await recordSettings(log, toRecord);
  return { ...plan, entries };
}

/** One line per difference: `orders.v1: partitions declared 4, actual 8`. */
export function describeDifferences(entry: TopicPlanEntry): string[] {
  return entry.differences.map((x) =>
    x.field === 'partitions'
      ? `${entry.topic}: partitions declared ${x.declared}, actual ${x.actual}`
      : `${entry.topic}: retention declared ${formatRetention(x.declared)}, actual ${formatRetention(x.actual)}`,
  );
}

/**
 * `SLIPWAY_TOPIC_MISMATCH` listing every topic that differs from its declaration, or undefined when none does.
 * `details.mismatches` holds the entries.
 */
export function topicMismatchError(plan: TopicPlan): SlipwayError | undefined {
  const absent = plan.entries.filter((e) => e.status === 'missing' && e.existing === true);
  if (absent.length > 0) {
    return new SlipwayError(
      'SLIPWAY_TOPIC_NOT_FOUND',
      `${absent.map((e) => `'${e.topic}' (dataset ${e.dataset})`).join(', ')} ${absent.length === 1 ? 'is an existing topic that does' : 'are existing topics that do'} not exist. Slipway never creates a topic a dataset names: create it, or fix the dataset's \`topic\`.`,
      { details: { missing: absent } },
    );
  }
  const mismatches = plan.entries.filter((e) => e.status === 'mismatch');
  if (mismatches.length === 0) return undefined;
  const lines = mismatches.flatMap(describeDifferences);
  return new SlipwayError(
    'SLIPWAY_TOPIC_MISMATCH',
    `${mismatches.length} topic${mismatches.length === 1 ? '' : 's'} differ${mismatches.length === 1 ? 's' : ''} from ${mismatches.length === 1 ? 'its' : 'their'} dataset declaration: ${lines.join('; ')}. ` +
      'Slipway does not change existing topics: declare what the topic has, change the topic yourself, or use a new dataset version (a new topic).',
    { details: { mismatches } },
  );
}
