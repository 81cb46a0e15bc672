import { createHash, createHmac } from 'node:crypto';
import { type Dataset, isDataset } from '../dataset/dataset.js';
import { canonicalJson } from '../dataset/schema.js';
import { SlipwayError } from '../errors.js';
import {
  FAKE_KINDS,
  type FakeKind,
  type FakeMaker,
  type FakeOptions,
  fakeMaker,
  fakerVersion,
  loadCopycat,
  needsCopycat,
} from './fake-values.js';
import { isValidPath, splitPath } from './field-paths.js';
import { schemaAtPath } from './schema-paths.js';

/** The environment variable holding the secret key of keyed masking rules (`hash`, fakes). */
export const MASK_KEY_ENV = 'SLIPWAY_MASK_KEY';

/** Shortest key accepted: shorter keys can be guessed, and then every fake value can be reversed. */
export const MIN_MASK_KEY_LENGTH = 16;

/** What the tools a custom mask function gets can do. */
export interface MaskTools {
  /** HMAC-SHA256 of the value under the secret key, as hex: the base for your own deterministic fakes. */
  hmac(value: unknown): string;
  /** The field path being masked. */
  path: string;
}

/** A custom rule: masking as code. Must be deterministic; return `undefined` to drop the field. */
export type MaskFunction = (value: unknown, tools: MaskTools) => unknown;

/**
 * How one field is masked.
 * - `keep`: stays as it is (declares that the field is not personal data).
 * - `drop`: removed from the sample.
 * - `redact`: replaced by a fixed placeholder of the same type (`'***'`, `0`, `false`, `[]`, `{}`).
 * - `hash`: HMAC-SHA256 of the value under the secret key, first 16 hex digits. Deterministic, so joins work.
 * - `{ fake: kind }`: a realistic fake value made from the HMAC of the value (same input and key → same fake).
 * - a function `(value, { hmac, path }) => masked`.
 * `null` values stay `null` under every rule but `drop`.
 */
export type MaskRule =
  | 'keep'
  | 'drop'
  | 'redact'
  | 'hash'
  | { fake: Exclude<FakeKind, 'email' | 'id' | 'int'> }
  | { fake: 'email'; domain?: string }
  | { fake: 'id'; prefix?: string; length?: number }
  | { fake: 'int'; min: number; max: number }
  | MaskFunction;

export interface MaskingDefinition<T = unknown> {
  /** The dataset these rules mask. */
  dataset: Dataset<T>;
  /** Rules by field path (`email`, `customer.phone`, `contacts[].email`). */
  rules: Record<string, MaskRule>;
  /** Fields that stay unmasked although they look like personal data (e.g. a shop's own support address). */
  allowUnmasked?: string[];
  description?: string;
}

/** Masking as code, made by {@link defineMasking}. */
export interface Masking {
  readonly kind: 'slipway.masking';
  readonly dataset: Dataset;
  readonly rules: Readonly<Record<string, MaskRule>>;
  readonly allowUnmasked: readonly string[];
  readonly description?: string;
  /** True when some rule needs the secret key. */
  readonly needsKey: boolean;
  /** `sha256:<hex>` of the rules (functions by their source text) and the faker's version. */
  readonly digest: string;
  /** A readable form of each rule, for manifests: `hash`, `fake:email`, `function`. */
  readonly described: Readonly<Record<string, string>>;
}

function isKeyed(rule: MaskRule): boolean {
  return rule === 'hash' || typeof rule === 'function' || (typeof rule === 'object' && rule !== null);
}

function describeRule(rule: MaskRule): string {
  if (typeof rule === 'string') return rule;
  if (typeof rule === 'function') return 'function';
  const { fake, ...options } = rule as { fake: string } & Record<string, unknown>;
  const opts = Object.entries(options)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${String(v)}`);
  return opts.length === 0 ? `fake:${fake}` : `fake:${fake}(${opts.join(',')})`;
}

/**
 * Declares how a dataset's fields are masked when a sample is captured. Lives in your project beside the
 * datasets; `slipway sample capture` picks the masking exported for the dataset.
 * Throws `SLIPWAY_INVALID_DEFINITION` naming the bad rule.
 *
 * @example
 * export const ordersMasking = defineMasking({
 *   dataset: orders,
 *   rules: { email: { fake: 'email' }, customerId: { fake: 'id', prefix: 'c-' }, note: 'drop' },
 *   allowUnmasked: ['supportEmail'],
 * })
 */
export function defineMasking<T>(definition: MaskingDefinition<T>): Masking {
  const bad = (message: string, field: string): never => {
    throw new SlipwayError('SLIPWAY_INVALID_DEFINITION', `Invalid masking: ${message}`, { details: { field } });
  };
  if (typeof definition !== 'object' || definition === null) bad('pass an object { dataset, rules }', '(root)');
  if (!isDataset(definition.dataset)) bad('dataset must be a dataset made by defineDataset()', 'dataset');
  const dataset = definition.dataset as Dataset;
  const where = `for ${dataset.topic}`;
  if (typeof definition.rules !== 'object' || definition.rules === null)
    bad(`rules ${where} must be an object of field path → rule`, 'rules');
  const paths = Object.keys(definition.rules);
  const described: Record<string, string> = {};
  for (const path of paths) {
    const field = `rules.${path}`;
    if (!isValidPath(path))
      bad(`'${path}' ${where} is not a field path (use a.b for nested fields, a[] for array items)`, field);
    const rule = definition.rules[path] as MaskRule;
    checkRule(rule, path, where, bad);
    const at = schemaAtPath(dataset.schema, path);
    if (!at.allowed) {
      const hint = at.siblings.length > 0 ? ` (it has: ${[...new Set(at.siblings)].join(', ')})` : '';
      bad(`'${path}' is not a field of ${dataset.topic}${hint}; fix the path (array items are written a[].b)`, field);
    }
    if (path === dataset.key && (rule === 'drop' || rule === 'redact')) {
      bad(
        `the key field '${path}' of ${dataset.topic} cannot be '${rule}': records would lose their key. Use { fake: 'id' } or 'hash' (deterministic, so a customer's records stay together)`,
        field,
      );
    }
    described[path] = describeRule(rule);
  }
  for (const a of paths) {
    for (const b of paths) {
      if (a !== b && (b.startsWith(`${a}.`) || b.startsWith(`${a}[]`)))
        bad(`rules for '${a}' and '${b}' overlap; keep one of them`, `rules.${b}`);
    }
  }
  const allowUnmasked = definition.allowUnmasked ?? [];
  if (!Array.isArray(allowUnmasked)) bad('allowUnmasked must be a list of field paths', 'allowUnmasked');
  for (const path of allowUnmasked) {
    if (!isValidPath(path)) bad(`allowUnmasked: '${String(path)}' is not a field path`, 'allowUnmasked');
  }
  const rules = Object.freeze({ ...definition.rules });
  const needsKey = Object.values(rules).some(isKeyed);
  const digestSource = {
    dataset: dataset.topic,
    rules: Object.fromEntries(
      Object.entries(rules).map(([p, r]) => [p, typeof r === 'function' ? `function:${r.toString()}` : r]),
    ),
    allowUnmasked: [...allowUnmasked].sort(),
    faker: Object.values(rules).some((r) => typeof r === 'object' && r !== null && needsCopycat(r.fake))
      ? fakerVersion()
      : null,
  };
  return Object.freeze({
    kind: 'slipway.masking' as const,
    dataset,
    rules,
    allowUnmasked: Object.freeze([...allowUnmasked]),
    ...(definition.description === undefined ? {} : { description: definition.description }),
    needsKey,
    digest: `sha256:${createHash('sha256').update(canonicalJson(digestSource)).digest('hex')}`,
    described: Object.freeze(described),
  });
}

function checkRule(rule: unknown, path: string, where: string, bad: (m: string, f: string) => never): void {
  const field = `rules.${path}`;
  if (rule === 'keep' || rule === 'drop' || rule === 'redact' || rule === 'hash' || typeof rule === 'function') return;
  if (typeof rule !== 'object' || rule === null || !('fake' in rule)) {
    bad(
      `rule for '${path}' ${where} must be 'keep', 'drop', 'redact', 'hash', { fake: kind } or a function, got ${JSON.stringify(rule)}`,
      field,
    );
  }
  const r = rule as { fake: unknown } & FakeOptions;
  if (!(FAKE_KINDS as readonly unknown[]).includes(r.fake))
    bad(`'${path}': unknown fake '${String(r.fake)}'; use one of ${FAKE_KINDS.join(', ')}`, field);
  if (
    r.fake === 'int' &&
    !(Number.isSafeInteger(r.min) && Number.isSafeInteger(r.max) && (r.min as number) <= (r.max as number))
  )
    bad(`'${path}': { fake: 'int' } needs whole numbers min ≤ max`, field);
  if (r.fake === 'id' && r.length !== undefined && !(Number.isInteger(r.length) && r.length >= 8 && r.length <= 64))
    bad(`'${path}': { fake: 'id' } length must be 8 to 64 hex digits`, field);
  if (r.prefix !== undefined && typeof r.prefix !== 'string') bad(`'${path}': prefix must be a string`, field);
  if (r.domain !== undefined && (typeof r.domain !== 'string' || !/^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(r.domain)))
    bad(`'${path}': domain must be a domain name like example.com`, field);
}

/** True when `value` is a Masking made by defineMasking. */
export function isMasking(value: unknown): value is Masking {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'slipway.masking';
}

/**
 * The secret key for `masking`: `key` when given, else `$SLIPWAY_MASK_KEY`. Undefined when no rule needs one.
 * Throws `SLIPWAY_MASK_KEY_MISSING` when a rule needs it and it is unset or too short.
 */
export function resolveMaskKey(masking: Masking, key?: string): string | undefined {
  if (!masking.needsKey) return undefined;
  const k = key ?? process.env[MASK_KEY_ENV];
  const keyed = Object.entries(masking.described)
    .filter(([, d]) => d !== 'keep' && d !== 'drop' && d !== 'redact')
    .map(([p, d]) => `${p}: ${d}`);
  if (k === undefined || k === '') {
    throw new SlipwayError(
      'SLIPWAY_MASK_KEY_MISSING',
      `Masking ${masking.dataset.topic} needs a secret key (${keyed.join('; ')}), and ${MASK_KEY_ENV} is not set. ` +
        `Set it to a long random string kept in your secret store, e.g. \`export ${MASK_KEY_ENV}=$(openssl rand -hex 32)\`. ` +
        'The same key always gives the same fake values, so joins keep working; use one key per team or environment.',
      { details: { dataset: masking.dataset.topic, env: MASK_KEY_ENV } },
    );
  }
  if (k.length < MIN_MASK_KEY_LENGTH) {
    throw new SlipwayError(
      'SLIPWAY_MASK_KEY_MISSING',
      `${MASK_KEY_ENV} is only ${k.length} characters; masking needs at least ${MIN_MASK_KEY_LENGTH} (a short key can be guessed, and then fakes can be reversed). ` +
        `Make one with \`openssl rand -hex 32\`.`,
      { details: { dataset: masking.dataset.topic, env: MASK_KEY_ENV, length: k.length } },
    );
  }
  return k;
}

/** A short, non-secret fingerprint of a key: tells whether two samples were masked with the same key. */
export function maskKeyId(key: string): string {
  return createHmac('sha256', key).update('slipway:mask-key-id').digest('hex').slice(0, 12);
}

/** Applies a masking to records. Made by {@link createMasker}. */
export interface Masker {
  /** Masks a record in place (records are the capture's own parsed copies) and returns it. */
  mask<R>(record: R): R;
  /** True when the path (or a parent of it) has a rule or is allowed unmasked: the PII scan skips it. */
  isDeclared(path: string): boolean;
  /** The key's fingerprint, when the masking uses a key. */
  readonly keyId: string | undefined;
}

interface RuleNode {
  apply?: (value: unknown) => unknown;
  children: Map<string, RuleNode>;
}

/** Sentinel returned by a rule to remove the field. */
const DROP = Symbol('drop');

/**
 * Compiles a masking into a masker. Loads copycat when a fake rule needs it.
 * Throws `SLIPWAY_MASK_KEY_MISSING` when a rule needs the key and none is set.
 *
 * @example
 * const masker = await createMasker(ordersMasking)          // key from $SLIPWAY_MASK_KEY
 * const masked = masker.mask(JSON.parse(record.value))
 */
export async function createMasker(masking: Masking, options: { key?: string } = {}): Promise<Masker> {
  const key = resolveMaskKey(masking, options.key);
  const copycat = Object.values(masking.rules).some((r) => typeof r === 'object' && r !== null && needsCopycat(r.fake))
    ? await loadCopycat()
    : undefined;
  // Values repeat (customers, emails): an HMAC costs microseconds, a copycat fake tens of them.
  const hmacCache = new Map<string, string>();
  const hmac = (value: unknown): string => {
    const text = typeof value === 'string' ? value : canonicalJson(value);
    let h = hmacCache.get(text);
    if (h === undefined) {
      h = createHmac('sha256', key as string)
        .update(text)
        .digest('hex');
      if (hmacCache.size > 200_000) hmacCache.clear();
      hmacCache.set(text, h);
    }
    return h;
  };
  const root: RuleNode = { children: new Map() };
  for (const [path, rule] of Object.entries(masking.rules)) {
    let node = root;
    for (const seg of splitPath(path)) {
      let next = node.children.get(seg);
      if (next === undefined) {
        next = { children: new Map() };
        node.children.set(seg, next);
      }
      node = next;
    }
    node.apply = compileRule(rule, path, hmac, copycat === undefined ? undefined : copycat);
  }
  const declared = [...Object.keys(masking.rules), ...masking.allowUnmasked];
  const declaredCache = new Map<string, boolean>();
  return {
    keyId: key === undefined ? undefined : maskKeyId(key),
    mask<R>(record: R): R {
      applyNode(record, root);
      return record;
    },
    isDeclared(path: string): boolean {
      let hit = declaredCache.get(path);
      if (hit === undefined) {
        hit = declared.some((d) => path === d || path.startsWith(`${d}.`) || path.startsWith(`${d}[]`));
        declaredCache.set(path, hit);
      }
      return hit;
    },
  };
}

function compileRule(
  rule: MaskRule,
  path: string,
  hmac: (value: unknown) => string,
  copycat: Awaited<ReturnType<typeof loadCopycat>> | undefined,
): (value: unknown) => unknown {
  if (rule === 'keep') return (v) => v;
  if (rule === 'drop') return () => DROP;
  if (rule === 'redact') return redact;
  if (rule === 'hash') return (v) => (v === null ? null : hmac(v).slice(0, 16));
  if (typeof rule === 'function') {
    const tools: MaskTools = { hmac, path };
    return (v) => {
      const out = rule(v, tools);
      return out === undefined ? DROP : out;
    };
  }
  const { fake, ...options } = rule as { fake: FakeKind } & FakeOptions;
  const make: FakeMaker = fakeMaker(fake, options, copycat);
  const cache = new Map<string, string | number>();
  return (v) => {
    if (v === null) return null;
    const h = hmac(v);
    let out = cache.get(h);
    if (out === undefined) {
      out = make(h);
      if (cache.size > 200_000) cache.clear();
      cache.set(h, out);
    }
    return out;
  };
}

function redact(value: unknown): unknown {
  if (value === null) return null;
  if (Array.isArray(value)) return [];
  switch (typeof value) {
    case 'string':
      return '***';
    case 'number':
      return 0;
    case 'boolean':
      return false;
    default:
      return {};
  }
}

/** Applies the rules under `node` to `value` in place; returns the replacement for `value` itself. */
function applyNode(value: unknown, node: RuleNode): unknown {
  if (node.apply !== undefined) return node.apply(value);
  if (value === null || typeof value !== 'object') return value;
  for (const [seg, child] of node.children) {
    if (seg === '[]') {
      if (!Array.isArray(value)) continue;
      let write = 0;
      for (let i = 0; i < value.length; i++) {
        const out = applyNode(value[i], child);
        if (out !== DROP) value[write++] = out;
      }
      value.length = write;
      continue;
    }
    if (Array.isArray(value)) continue;
    const obj = value as Record<string, unknown>;
    if (!(seg in obj) || obj[seg] === undefined) continue;
    const out = applyNode(obj[seg], child);
    if (out === DROP) delete obj[seg];
    else obj[seg] = out;
  }
  return value;
}
