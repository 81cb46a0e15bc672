import type { RunnerHandle } from '../supervisor/supervisor.js';

/**
 * What a runner is to its pipeline, as metrics label it: the `live` version, the `blue` (previous)
 * or `green` (new) side of a handoff, a `shadow` run (or a sample-shadow copy), or a `canary`'s new side.
 */
export type RunnerColour = 'live' | 'blue' | 'green' | 'shadow' | 'canary';

export const RUNNER_COLOURS: ReadonlyArray<RunnerColour> = ['live', 'blue', 'green', 'shadow', 'canary'];

/** A runner a controller supervises, and what it is to its pipeline. */
export interface SupervisedRunner {
  readonly pipeline: string;
  readonly version: string;
  readonly digest: string;
  readonly colour: RunnerColour;
  readonly runner: RunnerHandle;
}

/**
 * The colour of a runner that is not its pipeline's live runner: shadow runs (and the sample shadow's
 * copies) are `shadow`, a canary's new side `canary`; while a deployment of the pipeline runs, a runner
 * started before it began (the old live one kept warm) or started as `blue` is `blue`, any other the
 * incoming `green`. With no deployment running, a runner is named by the role it was started in.
 */
export function colourOf(role: string, startedAt: number, deploymentStartedAt: number | undefined): RunnerColour {
  if (role === 'shadow' || role.startsWith('sample-')) return 'shadow';
  if (role === 'canary') return 'canary';
  if (role === 'blue') return 'blue';
  if (deploymentStartedAt !== undefined) return startedAt < deploymentStartedAt ? 'blue' : 'green';
  return 'green';
}
