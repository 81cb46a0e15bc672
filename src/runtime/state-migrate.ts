import { SlipwayError } from '../errors.js';
import type { StateWrite } from '../log/log.js';
import type { Pipeline } from '../pipeline/pipeline.js';

/**
 * The state key of a partition's state layout version (its `stateVersion`): starts with NUL, which no
 * JSON record key a pipeline writes does. Written with a migration, in the same commit as the
 * migrated state, so a partition is in one layout or the other, never half.
 */
export const STATE_VERSION_KEY = '\u0000slipway.state-version';

/** What a migration of a runner's partitions did. */
export interface StateMigrationResult {
  /** The layout it went from and to (equal when nothing was to do). */
  from: number;
  to: number;
  /** Partitions migrated (already in the target layout: not counted). */
  partitions: number;
  /** Keys of those partitions migrated. */
  keys: number;
}

/** One partition's committed state as the log gives it (values are JSON text). */
export type PartitionEntries = Array<[string, string]>;

/**
 * The layout a partition's state is in: its mark; without one (state from before marks, or a partition
 * nothing was written to), the layout the version before wrote when the pipeline declares a migration
 * (a version before marks never changed layout), else the pipeline's own.
 */
export function layoutOf(pipeline: Pipeline, entries: PartitionEntries): number {
  const mark = entries.find(([k]) => k === STATE_VERSION_KEY);
  if (mark !== undefined) return JSON.parse(mark[1]) as number;
  return pipeline.migrateState?.from ?? pipeline.stateVersion;
}

/** Slipway's own keys (NUL first: toggle barriers, the layout mark) are not a pipeline's state and never migrated. */
const isUserKey = (key: string): boolean => !key.startsWith('\u0000');

/**
 * The writes that bring each partition's state to `target` with `fn` (`up` or `down`), the mark
 * included; partitions already at `target` need none. Computed in full before anything is committed:
 * a function that throws leaves nothing written (`SLIPWAY_STATE_MIGRATION_FAILED`, naming the key and
 * partition). A partition in a layout neither `from` nor `target` is `SLIPWAY_STATE_MIGRATION_MISSING`.
 */
export function migrationWrites(
  pipeline: Pipeline,
  state: ReadonlyMap<number, PartitionEntries>,
  from: number,
  target: number,
  fn: ((value: unknown, key: string) => unknown) | undefined,
): { writes: StateWrite[]; result: StateMigrationResult } {
  const writes: StateWrite[] = [];
  const result: StateMigrationResult = { from, to: target, partitions: 0, keys: 0 };
  for (const [partition, entries] of state) {
    const layout = layoutOf(pipeline, entries);
    const marked = entries.some(([k]) => k === STATE_VERSION_KEY);
    if (layout === target) {
      // Mark it once a migration is declared, so a later version knows its layout for sure.
      if (!marked && pipeline.migrateState !== undefined)
        writes.push({ partition, key: STATE_VERSION_KEY, value: JSON.stringify(target) });
      continue;
    }
    if (layout !== from || fn === undefined) throw missing(pipeline, partition, layout, target);
    for (const [key, text] of entries) {
      if (!isUserKey(key)) continue;
      let next: unknown;
      try {
        next = fn(JSON.parse(text), key);
      } catch (err) {
        throw new SlipwayError(
          'SLIPWAY_STATE_MIGRATION_FAILED',
          `Migrating the state of '${pipeline.name}' from layout ${from} to ${target} failed for key ${JSON.stringify(key)} of partition ${partition}: ${(err as Error)?.message ?? String(err)}. Nothing was committed; fix migrateState (it must accept every value the layout before holds) and deploy again.`,
          { cause: err, details: { pipeline: pipeline.name, partition, key, from, to: target } },
        );
      }
      writes.push({ partition, key, value: next === undefined ? null : JSON.stringify(next) });
      result.keys++;
    }
    writes.push({ partition, key: STATE_VERSION_KEY, value: JSON.stringify(target) });
    result.partitions++;
  }
  return { writes, result };
}

/** The state after `writes`, per partition (what the log holds once they are committed). */
export function applyWrites(
  state: ReadonlyMap<number, PartitionEntries>,
  writes: ReadonlyArray<StateWrite>,
): Map<number, PartitionEntries> {
  const maps = new Map<number, Map<string, string>>();
  for (const [p, entries] of state) maps.set(p, new Map(entries));
  for (const w of writes) {
    const m = maps.get(w.partition) ?? new Map<string, string>();
    maps.set(w.partition, m);
    if (w.value === null) m.delete(w.key);
    else m.set(w.key, w.value);
  }
  return new Map([...maps].map(([p, m]) => [p, [...m]]));
}

/** The writes of an activation: the state of the layout before brought up to the pipeline's (`up`). */
export function activationWrites(
  pipeline: Pipeline,
  state: ReadonlyMap<number, PartitionEntries>,
): { writes: StateWrite[]; result: StateMigrationResult } {
  const m = pipeline.migrateState;
  return migrationWrites(pipeline, state, m?.from ?? pipeline.stateVersion, pipeline.stateVersion, m?.up);
}

/**
 * The writes of `Runner.migrateState(version)`: the pipeline's layout taken back to `version` with
 * `down`. Refused when `version` is not the layout it migrates from (`SLIPWAY_STATE_MIGRATION_MISSING`)
 * or it declares no `down` (`SLIPWAY_STATE_IRREVERSIBLE`).
 */
export function reverseWrites(
  pipeline: Pipeline,
  state: ReadonlyMap<number, PartitionEntries>,
  version: number,
): { writes: StateWrite[]; result: StateMigrationResult } {
  const m = pipeline.migrateState;
  if (version === pipeline.stateVersion) return migrationWrites(pipeline, state, version, version, undefined);
  if (m === undefined || m.from !== version)
    throw new SlipwayError(
      'SLIPWAY_STATE_MIGRATION_MISSING',
      `'${pipeline.name}' ${pipeline.version} (state layout ${pipeline.stateVersion}) declares no migration to or from layout ${version}: it can only take its state back to the layout it migrates from${m === undefined ? ' (it declares none)' : ` (${m.from})`}.`,
      { details: { pipeline: pipeline.name, stateVersion: pipeline.stateVersion, version } },
    );
  if (m.down === undefined)
    throw new SlipwayError(
      'SLIPWAY_STATE_IRREVERSIBLE',
      `'${pipeline.name}' ${pipeline.version} migrates state from layout ${m.from} without a down migration: its state cannot be taken back. Roll forward instead, or add migrateState.down and deploy that version.`,
      { details: { pipeline: pipeline.name, from: m.from, to: pipeline.stateVersion } },
    );
  // Partitions still in the layout before (never activated by this version) are already where they go.
  const { writes, result } = migrationWrites(pipeline, state, pipeline.stateVersion, version, m.down);
  return { writes, result: { ...result, from: pipeline.stateVersion } };
}

function missing(pipeline: Pipeline, partition: number, layout: number, target: number): SlipwayError {
  return new SlipwayError(
    'SLIPWAY_STATE_MIGRATION_MISSING',
    `The state of '${pipeline.name}' in partition ${partition} is in layout ${layout}; version ${pipeline.version} needs layout ${target} and declares no migration from ${layout}. Declare migrateState { from: ${layout}, up } in the pipeline, or deploy a version whose stateVersion is ${layout}.`,
    { details: { pipeline: pipeline.name, partition, found: layout, stateVersion: target } },
  );
}
