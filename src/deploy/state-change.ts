import type { PipelineDescription } from '../artifact/manifest.js';
import { SlipwayError } from '../errors.js';
import type { Strategy } from './deploy-options.js';

/** How deploying one version over another changes the state layout. */
export interface StateChange {
  from: number;
  to: number;
  /** `up`: the new version migrates at activation; `down`: the live one takes state back first (an older version deployed). */
  direction: 'up' | 'down';
  /** Whether a rollback of the deployment can take state back. */
  reversible: boolean;
}

/**
 * The state layout change of deploying `next` over `live` (undefined: none), checked before anything
 * starts. Refused with `SLIPWAY_STATE_MIGRATION_MISSING` when `next` declares no migration from the
 * live layout (nor the live one a reverse to `next`'s), `SLIPWAY_STATE_IRREVERSIBLE` when it declares
 * no `down` and `irreversibleState` is not set, `SLIPWAY_DEPLOY_REFUSED` for a canary (both versions
 * would share the partitions' state in two layouts).
 */
export function plannedStateChange(
  live: PipelineDescription | undefined,
  next: PipelineDescription,
  options: { strategy: Strategy; irreversibleState?: boolean },
): StateChange | undefined {
  if (live === undefined || live.stateVersion === next.stateVersion) return undefined;
  const from = live.stateVersion;
  const to = next.stateVersion;
  let change: StateChange;
  if (next.stateMigration?.from === from)
    change = { from, to, direction: 'up', reversible: next.stateMigration.reversible };
  else if (live.stateMigration?.from === to && live.stateMigration.reversible)
    change = { from, to, direction: 'down', reversible: true };
  else if (to < from)
    // An older layout: only the live version's `down` could take the state back, and it has none to `to`.
    throw new SlipwayError(
      'SLIPWAY_STATE_MIGRATION_MISSING',
      `${next.name} ${next.version} goes back to state layout ${to}, but the live version ${live.version} (layout ${from}) cannot take its state back: ${live.stateMigration?.from === to ? 'its migrateState has no down' : `it declares no migration from layout ${to}`}. Deploy a version with state layout ${from} instead; a deployment goes back only to the layout the live version migrated from, with its down.`,
      {
        details: {
          pipeline: next.name,
          from,
          to,
          live: live.version,
          liveDeclaredFrom: live.stateMigration?.from ?? null,
        },
      },
    );
  else
    throw new SlipwayError(
      'SLIPWAY_STATE_MIGRATION_MISSING',
      `${next.name} ${next.version} changes its state layout (stateVersion ${from} → ${to}) and declares no migration from ${from}: it would read state it does not understand. Declare migrateState { from: ${from}, up, down } in the pipeline, or keep stateVersion ${from}.`,
      { details: { pipeline: next.name, from, to, declaredFrom: next.stateMigration?.from ?? null } },
    );
  if (options.strategy === 'canary')
    throw new SlipwayError(
      'SLIPWAY_DEPLOY_REFUSED',
      `${next.name} ${next.version} migrates state (layout ${from} → ${to}); a canary runs both versions on the same partitions' state at once. Deploy it with blue-green (the default) or recreate.`,
      { details: { from, to, strategy: options.strategy } },
    );
  if (!change.reversible && options.irreversibleState !== true)
    throw new SlipwayError(
      'SLIPWAY_STATE_IRREVERSIBLE',
      `${next.name} ${next.version} migrates state from layout ${from} to ${to} without a down migration: once it is live, a rollback to the version before is not possible (its state could not be taken back). Add migrateState.down, or deploy with --irreversible-state (irreversibleState: true) to accept it.`,
      { details: { pipeline: next.name, from, to } },
    );
  return change;
}

/**
 * The layout to take state back to before handing the pipeline from a runner of `newer` to one of
 * `older` (undefined: none to do): `older`'s, when `newer` migrated from it.
 */
export function reverseLayout(newer: PipelineDescription, older: PipelineDescription): number | undefined {
  if (newer.stateVersion === older.stateVersion) return undefined;
  return newer.stateMigration?.from === older.stateVersion ? older.stateVersion : undefined;
}
