/**
 * The topics of an environment's plan: each declared dataset's topic (missing, too few partitions, another
 * retention) and the dataset topics of the environment's namespace that nothing declares any more (old dataset
 * versions: shown as deletions, deleted only with `allowDestructive`).
 */
import type { Dataset } from '../dataset/dataset.js';
import { dlqTopic } from '../dataset/dataset.js';
import { formatRetention } from '../dataset/retention.js';
import { SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { createDatasetTopic } from '../topics/dataset-topic.js';
import { readRecordedSettings, recordSettings } from '../topics/recorded-settings.js';
import type { PlanChange, PlanSection, SectionPlan } from './env-plan.js';

/** A dataset's physical topic or its dead-letter topic: `<name>.v<major>[.dlq]`. */
const DATASET_TOPIC = /^[A-Za-z0-9][A-Za-z0-9._-]*\.v\d+(\.dlq)?$/;

export interface TopicSectionOptions {
  /**
   * Topic name prefixes (as this log sees them) that belong to others sharing it: other environments' and
   * workspaces' namespaces. Their topics are never planned for deletion.
   */
  othersPrefixes?: ReadonlyArray<string>;
}

/** A retention change loses records when the engine enforces it and the new one is shorter. */
function shortens(from: number, to: number): boolean {
  if (to === -1) return false;
  return from === -1 || to < from;
}

/**
 * The topics section: compares `datasets` with `log` (a namespaced log sees only its environment's topics).
 *
 * @example
 * const plan = await planEnvironment('dev', where, [topicSection(log, module.datasets)])
 */
export function topicSection(
  log: Log,
  datasets: ReadonlyArray<Dataset>,
  options: TopicSectionOptions = {},
): PlanSection {
  const byTopic = new Map<string, Dataset>();
  for (const d of datasets) {
    const seen = byTopic.get(d.topic);
    if (seen !== undefined && (seen.partitions !== d.partitions || seen.retentionMs !== d.retentionMs))
      throw new SlipwayError(
        'SLIPWAY_INVALID_DEFINITION',
        `Datasets ${seen.name}@${seen.version} and ${d.name}@${d.version} both declare topic '${d.topic}' but with different partitions or retention. Declare it the same way in both.`,
        { details: { topic: d.topic } },
      );
    byTopic.set(d.topic, d);
  }
  const native = log.topicSettings !== undefined;
  const others = options.othersPrefixes ?? [];

  const plan = async (): Promise<SectionPlan> => {
    const recorded = native ? undefined : await readRecordedSettings(log);
    const existing = new Map((await log.listTopics()).map((t) => [t.name, t.partitions]));
    const changes: PlanChange[] = [];
    let unchanged = 0;
    for (const [topic, d] of [...byTopic].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const partitions = existing.get(topic);
      if (partitions === undefined) {
        changes.push({
          section: 'topics',
          action: 'create',
          target: topic,
          fields: [
            { field: 'partitions', to: d.partitions },
            ...(d.retentionMs === undefined ? [] : [{ field: 'retention', to: formatRetention(d.retentionMs) }]),
          ],
          destructive: false,
          applicable: true,
        });
        continue;
      }
      const change: PlanChange = {
        section: 'topics',
        action: 'update',
        target: topic,
        fields: [],
        destructive: false,
        applicable: true,
      };
      const notes: string[] = [];
      if (partitions < d.partitions) {
        change.fields.push({ field: 'partitions', from: partitions, to: d.partitions });
        notes.push(
          'records of a key may go to a new partition from now on; running pipelines read the new partitions after their next start',
        );
      } else if (partitions > d.partitions) {
        change.fields.push({ field: 'partitions', from: partitions, to: d.partitions });
        change.applicable = false;
        change.fix = `partitions cannot shrink: declare ${partitions} partitions for ${d.name}, or make a new dataset version (a new topic)`;
      }
      if (d.retentionMs !== undefined) {
        const actual = native ? (await log.topicSettings?.(topic))?.retentionMs : recorded?.get(topic)?.retentionMs;
        if (actual === undefined) {
          // Never recorded (embedded, a topic older than its declaration): recording it is a first declaration.
          change.fields.push({ field: 'retention', to: formatRetention(d.retentionMs) });
        } else if (actual !== d.retentionMs) {
          change.fields.push({ field: 'retention', from: formatRetention(actual), to: formatRetention(d.retentionMs) });
          if (native && shortens(actual, d.retentionMs)) {
            change.destructive = true;
            notes.push(`the broker deletes records older than ${formatRetention(d.retentionMs)}`);
          }
        }
      }
      if (notes.length > 0) change.note = notes.join('; ');
      if (change.fields.length > 0) changes.push(change);
      else unchanged++;
    }
    const declared = new Set([...byTopic.keys(), ...[...byTopic.values()].map((d) => dlqTopic(d))]);
    for (const [topic, partitions] of existing) {
      if (declared.has(topic) || topic.startsWith('__') || !DATASET_TOPIC.test(topic)) continue;
      if (others.some((p) => topic.startsWith(p))) continue;
      let records = 0;
      for (let p = 0; p < partitions; p++) records += await log.countRecords(topic, p);
      changes.push({
        section: 'topics',
        action: 'delete',
        target: topic,
        fields: [
          { field: 'partitions', from: partitions },
          { field: 'records', from: records },
        ],
        destructive: true,
        applicable: true,
        note: 'no dataset of the project declares it (an old dataset version?): its records go with it',
      });
    }
    return { section: 'topics', changes, unchanged };
  };

  const apply = async (changes: ReadonlyArray<PlanChange>): Promise<PlanChange[]> => {
    const made: PlanChange[] = [];
    const toRecord: Array<[string, { retentionMs: number }]> = [];
    for (const c of changes) {
      const d = byTopic.get(c.target);
      if (c.action === 'delete') {
        await log.deleteTopics([c.target]);
      } else if (c.action === 'create' && d !== undefined) {
        await createDatasetTopic(log, d);
      } else if (c.action === 'update' && d !== undefined) {
        for (const f of c.fields) {
          if (f.field === 'partitions') {
            if (log.growTopic === undefined)
              throw new SlipwayError(
                'SLIPWAY_USAGE',
                `The ${log.engine} log cannot add partitions to '${c.target}'. Make a new dataset version (a new topic) instead.`,
                { details: { topic: c.target } },
              );
            await log.growTopic(c.target, d.partitions);
          } else if (f.field === 'retention' && d.retentionMs !== undefined) {
            if (native) await log.setTopicSettings?.(c.target, { retentionMs: d.retentionMs });
            else toRecord.push([c.target, { retentionMs: d.retentionMs }]);
          }
        }
      } else continue;
      made.push(c);
    }
    await recordSettings(log, toRecord);
    return made;
  };

  return { name: 'topics', plan, apply };
}
