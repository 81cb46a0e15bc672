import type { Dataset } from '../dataset/dataset.js';
import { isDataset } from '../dataset/dataset.js';
import { SlipwayError } from '../errors.js';

const NAME = /^[a-z][a-z0-9_-]{0,99}$/;
const VARIANT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** `feature`: chooses a code path. `data`: chooses what flows (a guarded output, a share of keys on a new branch). */
export type ToggleKind = 'feature' | 'data';

export interface ToggleDefinition {
  /** Lower case letters, digits, `_` or `-`, starting with a letter: the name `slipway toggle set` takes. */
  name: string;
  kind: ToggleKind;
  /** The variants `ctx.toggle(name)` may return (default `['off', 'on']`). */
  variants?: readonly string[];
  /** The variant of every record no change selects (default `'off'`). */
  default?: string;
  /**
   * The variant a share (`--percent`) or a rule (`--where`) turns on (default: the first variant that is
   * not the default). `slipway toggle set --variant` serves another.
   */
  on?: string;
  /**
   * Data toggles only: output datasets that flow only for the records whose variant is not the default
   * (a new output behind a kill switch). Emits to them for other records are dropped, not dead-lettered.
   */
  guards?: readonly Dataset[];
  description?: string;
}

/** A toggle made by {@link defineToggle}. */
export interface Toggle {
  readonly slipway: 'toggle';
  readonly name: string;
  readonly kind: ToggleKind;
  readonly variants: readonly string[];
  readonly default: string;
  readonly on: string;
  readonly guards: readonly Dataset[];
  readonly description?: string;
}

/**
 * Declares a feature or data toggle, listed in a pipeline's `toggles` (and its artifact's manifest). In
 * `process`, `ctx.toggle(name)` returns the variant for the current record, from the toggle's current
 * setting in the environment (`slipway toggle set`), evaluated synchronously per record.
 *
 * @example
 * export const newPricing = defineToggle({ name: 'new-pricing', kind: 'feature', variants: ['old', 'new'], default: 'old' })
 * export const euOutput = defineToggle({ name: 'eu-output', kind: 'data', guards: [euOrders] })
 */
export function defineToggle(definition: ToggleDefinition): Toggle {
  const bad = (message: string, field: string): never => {
    throw new SlipwayError('SLIPWAY_INVALID_DEFINITION', `Invalid toggle '${String(definition?.name)}': ${message}`, {
      details: { toggle: definition?.name, field },
    });
  };
  if (typeof definition !== 'object' || definition === null) bad('pass an object', '(root)');
  if (typeof definition.name !== 'string' || !NAME.test(definition.name))
    bad('name must be lower case letters, digits, _ or -, starting with a letter', 'name');
  if (definition.kind !== 'feature' && definition.kind !== 'data') bad("kind must be 'feature' or 'data'", 'kind');
  const variants = definition.variants ?? ['off', 'on'];
  if (!Array.isArray(variants) || variants.length < 2) bad('variants must list at least two names', 'variants');
  variants.forEach((v, i) => {
    if (typeof v !== 'string' || !VARIANT.test(v))
      bad(`variants[${i}] must be letters, digits, _, . or - (got ${JSON.stringify(v)})`, `variants[${i}]`);
  });
  if (new Set(variants).size !== variants.length) bad('variants must be distinct', 'variants');
  const def = definition.default ?? 'off';
  if (!variants.includes(def)) bad(`default '${def}' is not one of the variants ${variants.join(', ')}`, 'default');
  const on = definition.on ?? (variants.find((v) => v !== def) as string);
  if (!variants.includes(on) || on === def) bad(`on '${on}' must be a variant other than the default '${def}'`, 'on');
  const guards = definition.guards ?? [];
  if (!Array.isArray(guards)) bad('guards must be a list of datasets', 'guards');
  if (guards.length > 0 && definition.kind !== 'data')
    bad("only a data toggle guards outputs: use kind: 'data'", 'guards');
  guards.forEach((d, i) => {
    if (!isDataset(d)) bad(`guards[${i}] is not a dataset made by defineDataset`, `guards[${i}]`);
  });
  return Object.freeze({
    slipway: 'toggle' as const,
    name: definition.name,
    kind: definition.kind,
    variants: Object.freeze([...variants]),
    default: def,
    on,
    guards: Object.freeze([...guards]),
    ...(definition.description === undefined ? {} : { description: definition.description }),
  });
}

/** True when `value` is a Toggle made by defineToggle. */
export function isToggle(value: unknown): value is Toggle {
  return typeof value === 'object' && value !== null && (value as { slipway?: unknown }).slipway === 'toggle';
}

/** A toggle as the manifest lists it. */
export interface ToggleDescription {
  name: string;
  kind: ToggleKind;
  variants: string[];
  default: string;
  on: string;
  /** Topics of the outputs it guards. */
  guards: string[];
}

export function describeToggle(toggle: Toggle): ToggleDescription {
  return {
    name: toggle.name,
    kind: toggle.kind,
    variants: [...toggle.variants],
    default: toggle.default,
    on: toggle.on,
    guards: toggle.guards.map((d) => d.topic),
  };
}
