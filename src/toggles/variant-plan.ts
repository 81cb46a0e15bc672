import { FNV_OFFSET, fmix32, fnv1a } from '../dataset/key-hash.js';
import type { ToggleRule, ToggleSetting } from './toggle-setting.js';

/**
 * A toggle's setting compiled for the per-record path: plain data that `evaluateVariant` reads, so the common
 * settings (a fixed variant, a key-sticky share, one `field = value` rule with or without a share) are
 * evaluated without a call through a closure. Every plan has the same fields (one object shape): the reads in
 * `evaluateVariant` stay monomorphic however many toggles a pipeline has.
 */
export interface VariantPlan {
  /** 0: always `index`; 1: the key-sticky share; 2: one rule `field === want`, then the share; 3: `f`. */
  readonly kind: 0 | 1 | 2 | 3;
  /** The variant of kind 0. */
  readonly index: number;
  /** The index of the variant the share and the rules turn on, and of the toggle's default. */
  readonly on: number;
  readonly def: number;
  /** The toggle name's part of the key hash (the same for every record), and the share in thousandths of a percent. */
  readonly seed: number;
  readonly threshold: number;
  /** Kind 2: the field of the record's value and the value it must equal. */
  readonly field: string;
  readonly want: unknown;
  /** Kind 3: any other setting (several rules, another operator, a dotted field). */
  readonly f: (key: string | null, value: unknown) => number;
}

/** Shares are counted in buckets 0..99,999 (thousandths of a percent): 100,000 is everyone. */
const ALL = 100_000;

/** A toggle name's part of the key hash: the same for every record, hashed once. */
export function toggleSeed(name: string): number {
  return fnv1a(FNV_OFFSET, name) ^ 0x2f;
}

/** The key-sticky bucket (0..99,999) of a record key under a toggle's seed. */
export function bucketAt(seed: number, key: string | null): number {
  return fmix32(fnv1a(seed, key ?? '')) % ALL;
}

/** The index, in `toggle.variants`, of the variant `setting` gives a record (a variant outside them serves the default). */
export function evaluateVariant(plan: VariantPlan, key: string | null, value: unknown): number {
  switch (plan.kind) {
    case 0:
      return plan.index;
    case 1:
      return bucketAt(plan.seed, key) < plan.threshold ? plan.on : plan.def;
    case 2:
      if (typeof value !== 'object' || value === null || (value as Record<string, unknown>)[plan.field] !== plan.want)
        return plan.def;
      return plan.threshold >= ALL || bucketAt(plan.seed, key) < plan.threshold ? plan.on : plan.def;
    default:
      return plan.f(key, value);
  }
}

/** Compiles a toggle's setting (null: none, every record gets the default) into a plan. */
export function planSetting(
  name: string,
  setting: ToggleSetting | null,
  toggle: { variants: readonly string[]; default: string; on: string },
): VariantPlan {
  const def = Math.max(0, toggle.variants.indexOf(toggle.default));
  const plan = (kind: VariantPlan['kind'], index: number, more: Partial<VariantPlan> = {}): VariantPlan => ({
    kind,
    index,
    on: def,
    def,
    seed: 0,
    threshold: ALL,
    field: '',
    want: undefined,
    f: () => def,
    ...more,
  });
  if (setting === null) return plan(0, def);
  const known = (v: string | undefined): number => {
    const i = v === undefined ? -1 : toggle.variants.indexOf(v);
    return i < 0 ? def : i;
  };
  if (setting.fixed !== undefined) return plan(0, known(setting.fixed));
  const on = known(setting.variant ?? toggle.on);
  const threshold = Math.round((setting.percent ?? 100) * 1000);
  const where = setting.where ?? [];
  if (threshold <= 0) return plan(0, def);
  const seed = toggleSeed(name);
  if (where.length === 0) return threshold >= ALL ? plan(0, on) : plan(1, def, { on, seed, threshold });
  const only = where[0] as ToggleRule;
  if (where.length === 1 && only.op === 'eq' && !only.field.includes('.') && !Array.isArray(only.value))
    return plan(2, def, { on, seed, threshold, field: only.field, want: only.value });
  const rules = where.map(compileRule);
  return plan(3, def, {
    on,
    seed,
    threshold,
    f: (key, value) => {
      for (let i = 0; i < rules.length; i++) if (!(rules[i] as (v: unknown) => boolean)(value)) return def;
      return threshold >= ALL || bucketAt(seed, key) < threshold ? on : def;
    },
  });
}

function compileRule(rule: ToggleRule): (value: unknown) => boolean {
  const path = rule.field.split('.');
  const get = (value: unknown): unknown => {
    let v = value;
    for (const p of path) {
      if (typeof v !== 'object' || v === null) return undefined;
      v = (v as Record<string, unknown>)[p];
    }
    return v;
  };
  const want = rule.value;
  switch (rule.op) {
    case 'eq':
      return (v) => get(v) === want;
    case 'neq':
      return (v) => get(v) !== want;
    case 'in': {
      const set = new Set(Array.isArray(want) ? want : [want]);
      return (v) => set.has(get(v) as string);
    }
    case 'prefix': {
      const prefix = String(want);
      return (v) => {
        const f = get(v);
        return typeof f === 'string' && f.startsWith(prefix);
      };
    }
    case 'gt':
      return (v) => (get(v) as number) > (want as number);
    case 'gte':
      return (v) => (get(v) as number) >= (want as number);
    case 'lt':
      return (v) => (get(v) as number) < (want as number);
    case 'lte':
      return (v) => (get(v) as number) <= (want as number);
  }
}
