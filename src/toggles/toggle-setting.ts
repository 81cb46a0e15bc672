import { SlipwayError } from '../errors.js';
import { bucketAt, evaluateVariant, planSetting, toggleSeed } from './variant-plan.js';

/** A rule on a record field: `currency eq EUR`, `country in [FR, DE]`, `sku prefix X-`, `amount gt 100`. */
export interface ToggleRule {
  /** A field of the record's value; dots walk into objects (`customer.country`). */
  field: string;
  op: 'eq' | 'neq' | 'in' | 'prefix' | 'gt' | 'gte' | 'lt' | 'lte';
  value: string | number | boolean | Array<string | number | boolean>;
}

/**
 * A toggle's setting in one environment. `fixed` serves one variant to every record. Otherwise `variant`
 * (default: the toggle's `on`) goes to the records that match every `where` rule and whose key falls in
 * the key-sticky share `percent` (default 100); every other record gets the toggle's default.
 */
export interface ToggleSetting {
  fixed?: string;
  variant?: string;
  /** 0..100, may be fractional: raising it only adds keys (a stable hash of toggle name and record key). */
  percent?: number;
  where?: ToggleRule[];
}

const OPS = ['eq', 'neq', 'in', 'prefix', 'gt', 'gte', 'lt', 'lte'] as const;

function invalid(message: string, field: string): never {
  throw new SlipwayError('SLIPWAY_INVALID_TOGGLE', message, { details: { field } });
}

/** Checks a setting's shape (bad input is refused with `SLIPWAY_INVALID_TOGGLE` naming the field). */
export function checkToggleSetting(setting: unknown, variants?: readonly string[]): ToggleSetting {
  if (typeof setting !== 'object' || setting === null || Array.isArray(setting))
    invalid('A toggle setting is an object { fixed } or { percent, where, variant }.', '(root)');
  const s = setting as Record<string, unknown>;
  for (const k of Object.keys(s))
    if (!['fixed', 'variant', 'percent', 'where'].includes(k)) invalid(`Unknown field '${k}' in a toggle setting.`, k);
  const variant = (v: unknown, field: string): void => {
    if (typeof v !== 'string' || v === '') invalid(`${field} must be a variant name.`, field);
    if (variants !== undefined && !variants.includes(v as string))
      invalid(`${field} '${String(v)}' is not a variant of the toggle (${variants.join(', ')}).`, field);
  };
  if (s.fixed !== undefined) {
    variant(s.fixed, 'fixed');
    if (s.percent !== undefined || s.where !== undefined || s.variant !== undefined)
      invalid('A fixed variant takes no --percent, --where or --variant.', 'fixed');
    return { fixed: s.fixed as string };
  }
  if (s.variant !== undefined) variant(s.variant, 'variant');
  if (s.percent !== undefined) {
    const p = s.percent;
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 100)
      invalid(`percent must be a number from 0 to 100, got ${JSON.stringify(p)}.`, 'percent');
  }
  if (s.where !== undefined) {
    if (!Array.isArray(s.where)) invalid('where must be a list of rules.', 'where');
    (s.where as unknown[]).forEach((r, i) => {
      const rule = r as Record<string, unknown>;
      if (typeof rule !== 'object' || rule === null || typeof rule.field !== 'string' || rule.field === '')
        invalid(`where[${i}] needs a field.`, `where[${i}].field`);
      if (!(OPS as readonly unknown[]).includes(rule.op))
        invalid(`where[${i}].op must be one of ${OPS.join(', ')}.`, `where[${i}].op`);
      if (rule.value === undefined) invalid(`where[${i}] needs a value.`, `where[${i}].value`);
    });
  }
  if (s.percent === undefined && s.where === undefined)
    invalid('Give a share (--percent), rules (--where) or a fixed variant (--fixed).', 'percent');
  return {
    ...(s.variant === undefined ? {} : { variant: s.variant as string }),
    ...(s.percent === undefined ? {} : { percent: s.percent as number }),
    ...(s.where === undefined ? {} : { where: s.where as ToggleRule[] }),
  };
}

/**
 * Parses a `--where` rule: `field=value`, `field!=value`, `field^=prefix`, `field>n`, `field>=n`, `field<n`,
 * `field<=n`, `field~a|b|c` (in). Values that read as numbers or booleans are compared as such.
 */
export function parseToggleRule(text: string): ToggleRule {
  const m = /^([A-Za-z0-9_.-]+)\s*(!=|\^=|>=|<=|=|>|<|~)\s*(.*)$/.exec(text);
  if (m === null)
    invalid(
      `Cannot read the rule '${text}': write field=value, field!=value, field^=prefix, field>n, field<=n or field~a|b.`,
      'where',
    );
  const [, field, sym, raw] = m as unknown as [string, string, string, string];
  const ops: Record<string, ToggleRule['op']> = {
    '=': 'eq',
    '!=': 'neq',
    '^=': 'prefix',
    '>': 'gt',
    '>=': 'gte',
    '<': 'lt',
    '<=': 'lte',
    '~': 'in',
  };
  const op = ops[sym] as ToggleRule['op'];
  const scalar = (v: string): string | number | boolean =>
    v === 'true' ? true : v === 'false' ? false : v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  if (op === 'in') return { field, op, value: raw.split('|').map(scalar) };
  if (op === 'prefix') return { field, op, value: raw };
  const value = scalar(raw);
  if ((op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') && typeof value !== 'number')
    invalid(`The rule '${text}' compares with a number; '${raw}' is not one.`, 'where');
  return { field, op, value };
}

/** How a setting reads: `10% on where currency=EUR`, `fixed new`. */
export function describeSetting(setting: ToggleSetting | null, on = 'on'): string {
  if (setting === null) return 'default';
  if (setting.fixed !== undefined) return `fixed ${setting.fixed}`;
  const rules = (setting.where ?? []).map(
    (r) => `${r.field} ${r.op} ${Array.isArray(r.value) ? r.value.join('|') : r.value}`,
  );
  return `${setting.percent ?? 100}% ${setting.variant ?? on}${rules.length === 0 ? '' : ` where ${rules.join(' and ')}`}`;
}

/** The key-sticky bucket (0..99,999) of a record key for a toggle: the same for the same name and key, everywhere. */
export function toggleBucket(toggle: string, key: string): number {
  return bucketAt(toggleSeed(toggle), key);
}

/** Evaluates one toggle's setting for a record: `(key, value) => variant`. */
export type VariantOf = (key: string | null, value: unknown) => string;

/** A setting compiled for fast per-record evaluation (a variant outside `variants` serves the default). */
export function compileSetting(
  name: string,
  setting: ToggleSetting | null,
  toggle: { variants: readonly string[]; default: string; on: string },
): VariantOf {
  const plan = planSetting(name, setting, toggle);
  const variants = toggle.variants;
  return (key, value) => variants[evaluateVariant(plan, key, value)] as string;
}
