import type { PipelineDescription } from '../artifact/manifest.js';
import { shadowTopics } from '../runtime/shadow-topics.js';

/** Everything a shadow run of a pipeline writes under, named from its shadow id (see the runner's shadow mode). */
export interface ShadowNames {
  /** Its output topics (`<output>.shadow.<id>`) and dead-letter topics (`<input>.dlq.shadow.<id>`). */
  topics: string[];
  group: string;
  owner: string;
  stateNamespace: string;
}

/** The names a shadow run with this id writes under: what a finished deployment removes. */
export function shadowNames(
  pipeline: Pick<PipelineDescription, 'name' | 'inputs' | 'outputs'>,
  shadowId: string,
): ShadowNames {
  const suffix = `.shadow.${shadowId}`;
  return {
    topics: shadowTopics(pipeline, shadowId),
    group: `slipway.${pipeline.name}${suffix}`,
    owner: `slipway.${pipeline.name}${suffix}`,
    stateNamespace: `${pipeline.name}${suffix}`,
  };
}
