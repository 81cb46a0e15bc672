import { existsSync } from 'node:fs';
import type { PipelineDescription } from '../artifact/manifest.js';
import { loadSample, samplePaths } from '../samples/store.js';
import type { RunnerHandle, SampleInput, SampleOutput } from '../supervisor/supervisor.js';
import { compareOutputs, type OutputDiff, type OutputPair } from './output-diff.js';

export interface SampleShadowRequest {
  /** Runners of what is live (blue) and of what is deployed (green), in standby; never activated. */
  blue: RunnerHandle;
  green: RunnerHandle;
  /** What the deployed artifact's manifest says of its pipeline. */
  manifest: Pick<PipelineDescription, 'inputs' | 'outputs'>;
  /** The project's samples folder; each input's `default` sample is used (`<topic>/default.jsonl`). */
  samplesRoot: string;
  allowChangedFields?: readonly string[];
}

export interface SampleShadowDiff extends OutputDiff {
  /** The samples fed to both versions, e.g. `orders.v1/default`. */
  samples: string[];
  records: number;
}

/** The `default` sample of each input that the samples folder holds. */
export function samplesFor(manifest: Pick<PipelineDescription, 'inputs'>, samplesRoot: string): string[] {
  return manifest.inputs
    .map((d) => `${d.topic}/default`)
    .filter((ref) => {
      const [topic = '', name = 'default'] = ref.split('/');
      return existsSync(samplePaths(samplesRoot, { topic, name }).records);
    });
}

/**
 * The shadow diff on a representative sample instead of live data (used when live input is too
 * sparse to judge a release): both versions run the same sample records through their runners' own
 * batch core (no log between, state from empty), and their outputs are compared record by record,
 * matched by source, exactly like the live shadow diff. The runners run the artifacts' code, in their
 * own processes under a child-process supervisor; the controller only reads the sample files and
 * compares. Returns undefined when the project has no sample for any input.
 */
export async function sampleShadowDiff(request: SampleShadowRequest): Promise<SampleShadowDiff | undefined> {
  const refs = samplesFor(request.manifest, request.samplesRoot);
  if (refs.length === 0) return undefined;
  const inputs: SampleInput[] = [];
  let records = 0;
  for (const ref of refs) {
    const values = await loadSample(ref, { root: request.samplesRoot });
    records += values.length;
    inputs.push({ topic: ref.split('/')[0] as string, values });
  }
  const [blue, green] = await Promise.all([request.blue.sample(inputs), request.green.sample(inputs)]);
  const bySource = (outputs: SampleOutput[], topic: string): Map<string, string> =>
    new Map(outputs.filter((o) => o.topic === topic).map((o) => [o.source, o.value]));
  const pairs: OutputPair[] = request.manifest.outputs.map((d) => ({
    topic: d.topic,
    live: bySource(blue, d.topic),
    shadow: bySource(green, d.topic),
  }));
  return { ...compareOutputs(pairs, request.allowChangedFields), samples: refs, records };
}
