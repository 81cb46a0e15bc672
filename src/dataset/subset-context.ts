import type { JsonSchema } from './schema.js';

/**
 * The rules of the JSON Schema subset check: each names one way a writer's records can fall outside
 * what a reader accepts. Stable: tests, reports and `--json` output use them.
 */
export const SUBSET_RULES = [
  'schema-closed',
  'type-narrowed',
  'required-added',
  'property-added-to-open-model',
  'property-not-accepted',
  'content-model-closed',
  'additional-properties-narrowed',
  'enum-narrowed',
  'enum-added',
  'const-changed',
  'range-narrowed',
  'multiple-of-changed',
  'length-narrowed',
  'item-count-narrowed',
  'property-count-narrowed',
  'unique-items-added',
  'format-changed',
  'pattern-changed',
  'union-narrowed',
  'tuple-changed',
  'unverifiable',
] as const;

export type SubsetRule = (typeof SUBSET_RULES)[number];

/** One way a record accepted by the writer's schema can be refused by the reader's schema. */
export interface SubsetViolation {
  rule: SubsetRule;
  /** Where in the record: JSONPath, `$.items[*].sku`; `$.*` is any property the schema does not name. */
  path: string;
  /** What the writer's schema allows there, in words: `number`, `optional`, `any value (open content model)`. */
  writer: string;
  /** What the reader's schema demands there: `integer`, `required`, `≤ 100`. */
  reader: string;
}

/** A schema, or: the writer never writes it (`absent`), the reader accepts anything (`any`) or nothing there (`none`). */
export type Side = JsonSchema | boolean;

export const TYPES = ['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'] as const;
export type JsonType = (typeof TYPES)[number];

export interface Context {
  writerRoot: Side;
  readerRoot: Side;
  /** `$ref` pairs being compared: a recursive schema compared with itself is assumed to hold (coinduction). */
  refs: Set<string>;
  out: SubsetViolation[];
  /** The whole check, for keywords that recurse into sub-schemas (items, properties, branches). */
  check: (writer: Side, reader: Side, path: string, ctx: Context) => void;
}

export const isObj = (s: unknown): s is JsonSchema => typeof s === 'object' && s !== null && !Array.isArray(s);

export function typeSet(schema: JsonSchema): Set<JsonType> {
  const t = schema.type;
  if (t === undefined) return new Set(TYPES);
  const list = (Array.isArray(t) ? t : [t]) as JsonType[];
  return new Set(list.filter((x) => (TYPES as readonly string[]).includes(x)));
}

/** Whether the writer's type `t` fits the reader's types (an integer is a number). */
export const fits = (t: JsonType, reader: Set<JsonType>): boolean =>
  reader.has(t) || (t === 'integer' && reader.has('number'));

export const describeTypes = (s: Set<JsonType>): string => (s.size === TYPES.length ? 'any type' : [...s].join(' | '));

/** Only annotations (or nothing): accepts every value. */
export function acceptsAll(s: Side): boolean {
  if (s === true) return true;
  if (s === false) return false;
  const annotations = new Set([
    'title',
    'description',
    '$comment',
    'examples',
    'default',
    'deprecated',
    '$id',
    '$schema',
  ]);
  return Object.keys(s).every((k) => annotations.has(k) || (k === 'readOnly' && true) || k === 'writeOnly');
}

export function listValues(values: unknown): string {
  const list = Array.isArray(values) ? values : [values];
  return `one of ${list.map((v) => JSON.stringify(v)).join(', ')}`;
}

export function describeSchema(s: JsonSchema): string {
  const types = typeSet(s);
  const values = enumerated(s);
  if (values !== undefined) return listValues(values);
  return describeTypes(types);
}

/** The values a writer schema can take, when it enumerates them (`const`, `enum`, a boolean or null type). */
export function enumerated(s: JsonSchema): unknown[] | undefined {
  if (Object.hasOwn(s, 'const')) return [s.const];
  if (Array.isArray(s.enum)) return s.enum as unknown[];
  if (s.type === undefined) return undefined;
  const types = typeSet(s);
  if ([...types].every((t) => t === 'boolean' || t === 'null')) {
    const out: unknown[] = [];
    if (types.has('boolean')) out.push(false, true);
    if (types.has('null')) out.push(null);
    return out;
  }
  return undefined;
}

export function describeDeclared(s: Side): string {
  if (s === true) return 'anything';
  if (s === false) return 'nothing';
  return describeSchema(s);
}
