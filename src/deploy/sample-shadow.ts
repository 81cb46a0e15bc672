import { existsSync } from 'node:fs';
import type { Pipeline } from '../pipeline/pipeline.js';
import { loadSample, samplePaths } from '../samples/store.js';
import { createHarness } from '../testing/harness.js';
import { compareOutputs, type OutputDiff, type OutputPair } from './output-diff.js';

export interface SampleShadowRequest {
  /** What is live (blue) and what is deployed (green). */
  blue: { pipeline: Pipeline; config: unknown };
  green: { pipeline: Pipeline; config: unknown };
  /** The project's samples folder; each input's `default` sample is used (`<topic>/default.jsonl`). */
  samplesRoot: string;
  allowChangedFields?: readonly string[];
}

export interface SampleShadowDiff extends OutputDiff {
  /** The samples fed to both versions, e.g. `orders.v1/default`. */
  samples: string[];
  records: number;
}

/** The `default` sample of each input of `pipeline` that the samples folder holds. */
export function samplesFor(pipeline: Pipeline, samplesRoot: string): string[] {
  return pipeline.inputs
    .map((d) => `${d.topic}/default`)
    .filter((ref) => {
      const [topic = '', name = 'default'] = ref.split('/');
      return existsSync(samplePaths(samplesRoot, { topic, name }).records);
    });
}

/**
 * The shadow diff on a representative sample instead of live data (used when live input is too
 * sparse to judge a release): both versions run in-process over the same sample records from empty
 * state, and their outputs are compared record by record, matched by source, exactly like the live
 * shadow diff. Returns undefined when the project has no sample for any input.
 */
export async function sampleShadowDiff(request: SampleShadowRequest): Promise<SampleShadowDiff | undefined> {
  const refs = samplesFor(request.green.pipeline, request.samplesRoot);
  if (refs.length === 0) return undefined;
  const blue = await createHarness(request.blue.pipeline, { config: request.blue.config });
  const green = await createHarness(request.green.pipeline, { config: request.green.config });
  try {
    let records = 0;
    for (const ref of refs) {
      const topic = ref.split('/')[0] as string;
      const dataset = request.green.pipeline.inputs.find((d) => d.topic === topic);
      if (dataset === undefined) continue;
      const values = await loadSample(ref, { root: request.samplesRoot });
      records += values.length;
      await blue.send(topic, values);
      await green.send(topic, values);
    }
    const pairs: OutputPair[] = request.green.pipeline.outputs.map((d) => {
      const bySource = (h: typeof blue): Map<string, string> =>
        new Map(
          (h.pipeline.outputs.some((o) => o.topic === d.topic) ? h.outputRecords(d.topic) : []).map((r) => [
            r.source,
            JSON.stringify(r.value),
          ]),
        );
      return { topic: d.topic, live: bySource(blue), shadow: bySource(green) };
    });
    return { ...compareOutputs(pairs, request.allowChangedFields), samples: refs, records };
  } finally {
    await blue.close();
    await green.close();
  }
}
