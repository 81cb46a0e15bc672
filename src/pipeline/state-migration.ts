import { SlipwayError } from '../errors.js';

/**
 * How a pipeline whose `stateVersion` changed carries each key's state over from the version before
 * (`migrateState` of {@link PipelineDefinition}). `up` turns one key's state in layout `from` into this
 * version's layout; `down`, when given, turns it back, which is what makes a rollback possible.
 * Both must be pure functions of one key's state (they may run more than once on a crash; only one
 * result is ever committed). Returning `undefined` deletes the key.
 *
 * @example
 * migrateState: {
 *   from: 1,
 *   up: (count) => ({ count, sum: 0 }),
 *   down: (state) => (state as { count: number }).count,
 * }
 */
export interface StateMigration {
  /** The stateVersion of the layout it migrates from (the version live before this one). */
  from: number;
  up(value: unknown, key: string): unknown;
  down?(value: unknown, key: string): unknown;
}

/** What a manifest records of a pipeline's state migration (the functions stay in the bundle). */
export interface StateMigrationDescription {
  from: number;
  /** True when it declares `down`: a rollback to the `from` layout is possible. */
  reversible: boolean;
}

/**
 * Checks a `migrateState` declaration against the pipeline's `stateVersion`; returns a frozen copy.
 * Throws `SLIPWAY_INVALID_DEFINITION` naming the field.
 */
export function checkStateMigration(pipeline: string, stateVersion: number, value: unknown): StateMigration {
  const bad = (message: string, field: string): never => {
    throw new SlipwayError('SLIPWAY_INVALID_DEFINITION', `Invalid pipeline '${pipeline}': ${message}`, {
      details: { pipeline, field },
    });
  };
  if (typeof value !== 'object' || value === null) return bad('migrateState must be an object', 'migrateState');
  const m = value as Partial<StateMigration>;
  if (!Number.isInteger(m.from) || (m.from as number) < 1)
    bad('migrateState.from must be a whole number ≥ 1 (the stateVersion it migrates from)', 'migrateState.from');
  if (m.from === stateVersion)
    bad(
      `migrateState.from is ${m.from}, the pipeline's own stateVersion: a migration goes from another layout. Bump stateVersion, or remove migrateState.`,
      'migrateState.from',
    );
  if (typeof m.up !== 'function')
    bad('migrateState.up must be a function (value, key) => new value', 'migrateState.up');
  if (m.down !== undefined && typeof m.down !== 'function')
    bad('migrateState.down must be a function (value, key) => old value, or left out', 'migrateState.down');
  return Object.freeze({
    from: m.from as number,
    up: m.up as StateMigration['up'],
    ...(m.down === undefined ? {} : { down: m.down }),
  });
}

/** The manifest's view of a migration. */
export function describeStateMigration(m: StateMigration): StateMigrationDescription {
  return { from: m.from, reversible: m.down !== undefined };
}
