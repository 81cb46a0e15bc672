import { SlipwayError } from '../errors.js';
import type { LogRecord } from '../log/log.js';
import { keyOfValue, partitionOfKey } from './record-keys.js';
import { processBatchDirect, type Runner } from './runner.js';
import { SOURCE_HEADER } from './runner-types.js';

/** Values for one input of a pipeline (a sample's records). */
export interface SampleInput {
  topic: string;
  values: unknown[];
}

/** One output the sample produced: its topic, its source (`<topic>/<partition>/<offset>[#n]`) and its value as JSON. */
export interface SampleOutput {
  topic: string;
  source: string;
  value: string;
}

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Runs sample values through a runner's own batch core, with no log between: each input's values are
 * partitioned by key like a producer writes them and numbered from offset 0 per partition, then
 * processed in batches (validation, `process`, keyed state from empty, DLQ routing) exactly as the
 * runner processes live records. Returns the outputs (dead letters left out), matched to inputs by
 * their source, so two versions run over the same sample can be diffed record by record.
 * The runner must be in standby and is not to be activated afterwards (its state holds the sample's).
 *
 * @example
 * const outputs = runSample(runner, [{ topic: 'orders.v1', values: sampleOrders }])
 */
export function runSample(runner: Runner, inputs: readonly SampleInput[], batchSize = 2000): SampleOutput[] {
  const outputTopics = new Set(runner.pipeline.outputs.map((d) => d.topic));
  const out: SampleOutput[] = [];
  for (const input of inputs) {
    const dataset = runner.pipeline.inputs.find((d) => d.topic === input.topic);
    if (dataset === undefined) {
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `'${input.topic}' is not an input of '${runner.pipeline.name}' (its inputs: ${runner.pipeline.inputs.map((d) => d.topic).join(', ')}).`,
      );
    }
    const ends = new Array<number>(dataset.partitions).fill(0);
    const records: LogRecord[] = input.values.map((value) => {
      const key = keyOfValue(dataset, value);
      const partition = partitionOfKey(dataset, key);
      const offset = (ends[partition] as number)++;
      return {
        topic: dataset.topic,
        partition,
        offset,
        key,
        value: JSON.stringify(value) ?? 'null',
        headers: NO_HEADERS,
        timestamp: 0,
      };
    });
    for (let from = 0; from < records.length; from += batchSize) {
      const commit = processBatchDirect(runner, records.slice(from, from + batchSize));
      for (const { topic, records: written } of commit.outputs ?? []) {
        if (!outputTopics.has(topic)) continue;
        for (const r of written) out.push({ topic, source: r.headers?.[SOURCE_HEADER] ?? '', value: r.value });
      }
    }
  }
  return out;
}
