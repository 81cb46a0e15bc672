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

/** The colour of a runner started in `role` (the role the controller names it by); unknown roles are `green`. */
export function colourOfRole(role: string): RunnerColour {
  if (role === 'live' || role === 'blue' || role === 'shadow' || role === 'canary') return role;
  // The sample shadow's two copies run only values through their batch cores: shadow runs, both.
  if (role.startsWith('sample-')) return 'shadow';
  return 'green';
}
