import type { ValidateFunction } from 'ajv';
import { canonicalJson, compileSchema, type JsonSchema } from './schema.js';

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
type Side = JsonSchema | boolean;

const TYPES = ['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'] as const;
type JsonType = (typeof TYPES)[number];

/** Keywords the check does not reason about: a reader that has them must have the writer's exact value. */
const OPAQUE = [
  'not',
  'if',
  'then',
  'else',
  'dependentRequired',
  'dependentSchemas',
  'dependencies',
  'patternProperties',
  'propertyNames',
  'contains',
  'minContains',
  'maxContains',
  'unevaluatedProperties',
  'unevaluatedItems',
  'contentSchema',
] as const;

interface Context {
  writerRoot: Side;
  readerRoot: Side;
  /** `$ref` pairs being compared: a recursive schema compared with itself is assumed to hold (coinduction). */
  refs: Set<string>;
  out: SubsetViolation[];
}

/**
 * Every way a record valid under `writer` can be invalid under `reader`: empty when the writer's records
 * are a subset of what the reader accepts. It reasons about JSON Schema's meaning, not the text:
 *
 * - content models: a property the reader declares is checked against what the writer allows for it —
 *   its own declaration, its `additionalProperties` schema, anything (an open model) or nothing (closed);
 *   a property the writer may write is checked against the reader's declaration, `additionalProperties`,
 *   or refused by a closed reader;
 * - `required`, `type` (integer ⊆ number), `enum`/`const` (each writer value is validated against the
 *   reader, so `anyOf` of constants and `enum` compare by value), numeric bounds (exclusive or not, with
 *   integer rounding), `multipleOf`, string and array lengths, property counts, `uniqueItems`, `format`,
 *   `pattern`, nested objects, arrays and tuples, `anyOf`/`oneOf`/`allOf` and local `$ref`s.
 *
 * It is sound: what it cannot decide (a changed regex, `not`, `if`/`then`) it reports (`unverifiable`,
 * `pattern-changed`) instead of passing. A writer union whose branch fits only a union of reader
 * branches, not one of them, is reported too.
 *
 * @example
 * schemaViolations({ type: 'integer' }, { type: 'number' })  // []
 * schemaViolations({ type: 'number' }, { type: 'integer' })  // [{ rule: 'type-narrowed', path: '$', … }]
 */
export function schemaViolations(writer: JsonSchema | boolean, reader: JsonSchema | boolean): SubsetViolation[] {
  const ctx: Context = { writerRoot: writer, readerRoot: reader, refs: new Set(), out: [] };
  check(writer, reader, '$', ctx);
  return dedupe(ctx.out);
}

function dedupe(list: SubsetViolation[]): SubsetViolation[] {
  const seen = new Set<string>();
  return list.filter((v) => {
    const k = `${v.rule}|${v.path}|${v.writer}|${v.reader}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const isObj = (s: unknown): s is JsonSchema => typeof s === 'object' && s !== null && !Array.isArray(s);

/** Follows a local `$ref` (`#/definitions/x`, `#/$defs/x`, `#`, or an `$id` in the document). */
function deref(schema: Side, root: Side): { schema: Side; ref?: string } {
  if (!isObj(schema) || typeof schema.$ref !== 'string') return { schema };
  const ref = schema.$ref;
  let target: unknown;
  if (ref === '#') target = root;
  else if (ref.startsWith('#/')) {
    target = root;
    for (const part of ref.slice(2).split('/')) {
      const key = decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~');
      target = isObj(target) ? target[key] : undefined;
    }
  } else target = findId(root, ref);
  if (target === undefined || (typeof target !== 'boolean' && !isObj(target))) return { schema, ref: `!${ref}` };
  const { $ref: _ref, ...siblings } = schema;
  const resolved = Object.keys(siblings).length === 0 ? (target as Side) : { allOf: [siblings, target] };
  return { schema: resolved, ref };
}

function findId(node: unknown, id: string): unknown {
  if (Array.isArray(node)) {
    for (const n of node) {
      const found = findId(n, id);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isObj(node)) return undefined;
  if (node.$id === id) return node;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'const' || k === 'enum' || k === 'default' || k === 'examples') continue;
    const found = findId(v, id);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A shallow intersection of schemas (both must hold). Where it cannot combine two values it keeps one, which only widens: sound. */
export function mergeSchemas(a: JsonSchema, b: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (!(k in out)) out[k] = v;
    else if (canonicalJson(out[k]) === canonicalJson(v)) continue;
    else if (k === 'required') out[k] = [...new Set([...(out[k] as string[]), ...(v as string[])])];
    else if (k === 'properties' && isObj(out[k]) && isObj(v)) {
      const props: JsonSchema = { ...(out[k] as JsonSchema) };
      for (const [p, s] of Object.entries(v)) props[p] = p in props ? { allOf: [props[p], s] } : s;
      out[k] = props;
    } else if (k === 'type') {
      const left = typeSet(out);
      const right = typeSet(b);
      const both = [...left].filter((t) => right.has(t) || (t === 'integer' && right.has('number')));
      for (const t of right) if (t === 'integer' && left.has('number') && !both.includes('integer')) both.push(t);
      out.type = both;
    } else if (k === 'minimum' || k === 'minLength' || k === 'minItems' || k === 'minProperties')
      out[k] = Math.max(Number(out[k]), Number(v));
    else if (k === 'maximum' || k === 'maxLength' || k === 'maxItems' || k === 'maxProperties')
      out[k] = Math.min(Number(out[k]), Number(v));
  }
  return out;
}

/** Flattens `allOf` into its parent (a writer side only: merging keeps or widens what it accepts). */
function flattenAllOf(schema: JsonSchema, root: Side): JsonSchema {
  if (!Array.isArray(schema.allOf)) return schema;
  const { allOf, ...rest } = schema;
  let merged: JsonSchema = rest;
  for (const part of allOf as Side[]) {
    const resolved = deref(part, root).schema;
    if (resolved === true) continue;
    if (resolved === false) return { not: {} };
    merged = mergeSchemas(merged, flattenAllOf(resolved as JsonSchema, root));
  }
  return merged;
}

function typeSet(schema: JsonSchema): Set<JsonType> {
  const t = schema.type;
  if (t === undefined) return new Set(TYPES);
  const list = (Array.isArray(t) ? t : [t]) as JsonType[];
  return new Set(list.filter((x) => (TYPES as readonly string[]).includes(x)));
}

/** Whether the writer's type `t` fits the reader's types (an integer is a number). */
const fits = (t: JsonType, reader: Set<JsonType>): boolean =>
  reader.has(t) || (t === 'integer' && reader.has('number'));

const describeTypes = (s: Set<JsonType>): string => (s.size === TYPES.length ? 'any type' : [...s].join(' | '));

const unionOf = (s: JsonSchema): Side[] | undefined =>
  Array.isArray(s.anyOf) ? (s.anyOf as Side[]) : Array.isArray(s.oneOf) ? (s.oneOf as Side[]) : undefined;

function withoutUnion(s: JsonSchema): JsonSchema {
  const { anyOf: _a, oneOf: _o, ...rest } = s;
  return rest;
}

/** Only annotations (or nothing): accepts every value. */
function acceptsAll(s: Side): boolean {
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

function check(writerIn: Side, readerIn: Side, path: string, ctx: Context): void {
  const w = deref(writerIn, ctx.writerRoot);
  const r = deref(readerIn, ctx.readerRoot);
  if (w.ref?.startsWith('!') || r.ref?.startsWith('!')) {
    ctx.out.push({
      rule: 'unverifiable',
      path,
      writer: String(w.ref ?? 'schema'),
      reader: String(r.ref ?? 'schema'),
    });
    return;
  }
  if (w.ref !== undefined || r.ref !== undefined) {
    const key = `${w.ref ?? canonicalJson(w.schema)}→${r.ref ?? canonicalJson(r.schema)}`;
    if (ctx.refs.has(key)) return;
    ctx.refs.add(key);
  }
  let writer = w.schema;
  if (writer === false || acceptsAll(r.schema)) return;
  if (r.schema === false) {
    ctx.out.push({ rule: 'schema-closed', path, writer: 'values', reader: 'no value (false)' });
    return;
  }
  const reader = r.schema as JsonSchema;
  if (writer === true) writer = {};
  writer = flattenAllOf(writer as JsonSchema, ctx.writerRoot);

  // The reader's allOf: every part must hold.
  if (Array.isArray(reader.allOf)) {
    const { allOf, ...rest } = reader;
    check(writer, rest, path, ctx);
    for (const part of allOf as Side[]) check(writer, part, path, ctx);
    return;
  }

  // A writer union: each branch (with the writer's other keywords) must fit.
  const wUnion = unionOf(writer);
  if (wUnion !== undefined) {
    const rest = withoutUnion(writer);
    for (const branch of wUnion) {
      const b = deref(branch, ctx.writerRoot).schema;
      if (b === false) continue;
      check(b === true ? rest : mergeSchemas(rest, b as JsonSchema), reader, path, ctx);
    }
    return;
  }

  // Constants: compare by value, exactly.
  const values = enumerated(writer);
  if (values !== undefined) {
    const explicit = Object.hasOwn(writer, 'const') || Array.isArray(writer.enum);
    const readerTypes = typeSet(reader);
    const wTypes = typeSet(writer);
    if (!explicit && [...wTypes].some((t) => !fits(t, readerTypes)) && unionOf(reader) === undefined) {
      ctx.out.push({ rule: 'type-narrowed', path, writer: describeTypes(wTypes), reader: describeTypes(readerTypes) });
      return;
    }
    checkValues(values, writer, reader, path, ctx);
    return;
  }

  // A reader union: the writer (split by type) must fit one branch.
  const rUnion = unionOf(reader);
  if (rUnion !== undefined) {
    const rest = withoutUnion(reader);
    if (!acceptsAll(rest)) check(writer, rest, path, ctx);
    const types = typeSet(writer);
    const parts: JsonSchema[] =
      types.size > 1 && writer.type !== undefined ? [...types].map((t) => ({ ...writer, type: t })) : [writer];
    for (const part of parts) {
      let best: SubsetViolation[] | undefined;
      for (const branch of rUnion) {
        const sub: Context = { ...ctx, refs: new Set(ctx.refs), out: [] };
        check(part, branch, path, sub);
        if (sub.out.length === 0) {
          best = [];
          break;
        }
        if (best === undefined || sub.out.length < best.length) best = sub.out;
      }
      if (best !== undefined && best.length > 0) {
        const firstFew = best
          .slice(0, 3)
          .map((v) => `${v.path}: ${v.reader}`)
          .join('; ');
        ctx.out.push({
          rule: 'union-narrowed',
          path,
          writer: describeSchema(part),
          reader: `one of ${rUnion.length} branches, and none accepts it (closest: ${firstFew})`,
        });
      }
    }
    return;
  }

  checkOpaque(writer, reader, path, ctx);
  const wTypes = typeSet(writer);
  const rTypes = typeSet(reader);
  const missing = [...wTypes].filter((t) => !fits(t, rTypes));
  if (missing.length > 0)
    ctx.out.push({ rule: 'type-narrowed', path, writer: describeTypes(wTypes), reader: describeTypes(rTypes) });
  const shared = new Set([...wTypes].filter((t) => fits(t, rTypes)));

  if (reader.enum !== undefined || reader.const !== undefined) {
    ctx.out.push({
      rule: reader.const !== undefined ? 'const-changed' : 'enum-added',
      path,
      writer: `any ${describeTypes(shared)}`,
      reader: reader.const !== undefined ? `exactly ${JSON.stringify(reader.const)}` : listValues(reader.enum),
    });
    return;
  }
  if (shared.has('number') || shared.has('integer')) checkNumbers(writer, reader, path, ctx, !shared.has('number'));
  if (shared.has('string')) checkStrings(writer, reader, path, ctx);
  if (shared.has('array')) checkArrays(writer, reader, path, ctx);
  if (shared.has('object')) checkObjects(writer, reader, path, ctx);
}

function listValues(values: unknown): string {
  const list = Array.isArray(values) ? values : [values];
  return `one of ${list.map((v) => JSON.stringify(v)).join(', ')}`;
}

function describeSchema(s: JsonSchema): string {
  const types = typeSet(s);
  const values = enumerated(s);
  if (values !== undefined) return listValues(values);
  return describeTypes(types);
}

/** The values a writer schema can take, when it enumerates them (`const`, `enum`, a boolean or null type). */
function enumerated(s: JsonSchema): unknown[] | undefined {
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

const compiled = new WeakMap<object, ValidateFunction | null>();

function validator(schema: Side, root: Side): ValidateFunction | null {
  // A sub-schema with local refs is compiled inside its root, so the refs resolve.
  const key = (isObj(schema) ? schema : { b: schema }) as object;
  if (compiled.has(key)) return compiled.get(key) ?? null;
  let v: ValidateFunction | null;
  try {
    const doc =
      isObj(root) && isObj(schema) && schema !== root
        ? {
            ...schema,
            ...(root.definitions === undefined ? {} : { definitions: root.definitions }),
            ...(root.$defs === undefined ? {} : { $defs: root.$defs }),
          }
        : schema;
    v = compileSchema((typeof doc === 'boolean' ? (doc ? {} : { not: {} }) : doc) as JsonSchema);
  } catch {
    v = null;
  }
  compiled.set(key, v);
  return v;
}

function checkValues(values: unknown[], writer: JsonSchema, reader: JsonSchema, path: string, ctx: Context): void {
  const own = validator(writer, ctx.writerRoot);
  const possible = own === null ? values : values.filter((v) => own(v));
  const accept = validator(reader, ctx.readerRoot);
  if (accept === null) {
    ctx.out.push({
      rule: 'unverifiable',
      path,
      writer: listValues(possible),
      reader: 'a schema that does not compile',
    });
    return;
  }
  const refused = possible.filter((v) => !accept(v));
  if (refused.length === 0) return;
  const single = writer.const !== undefined && reader.const !== undefined;
  ctx.out.push({
    rule: single ? 'const-changed' : 'enum-narrowed',
    path,
    writer: listValues(possible),
    reader:
      reader.const !== undefined
        ? `exactly ${JSON.stringify(reader.const)}`
        : `no ${refused.map((v) => JSON.stringify(v)).join(', ')}`,
  });
}

function checkOpaque(writer: JsonSchema, reader: JsonSchema, path: string, ctx: Context): void {
  for (const k of OPAQUE) {
    if (reader[k] === undefined) continue;
    if (canonicalJson(writer[k]) === canonicalJson(reader[k])) continue;
    ctx.out.push({
      rule: 'unverifiable',
      path,
      writer: writer[k] === undefined ? `no ${k}` : `${k} ${canonicalJson(writer[k])}`,
      reader: `${k} ${canonicalJson(reader[k])}`,
    });
  }
}

interface Bound {
  value: number;
  exclusive: boolean;
}

function lower(s: JsonSchema, integer: boolean): Bound | undefined {
  const candidates: Bound[] = [];
  if (typeof s.minimum === 'number') candidates.push({ value: s.minimum, exclusive: false });
  if (typeof s.exclusiveMinimum === 'number') candidates.push({ value: s.exclusiveMinimum, exclusive: true });
  if (s.exclusiveMinimum === true && typeof s.minimum === 'number')
    candidates.push({ value: s.minimum, exclusive: true });
  if (candidates.length === 0) return undefined;
  let b = candidates.reduce((a, c) => (c.value > a.value || (c.value === a.value && c.exclusive) ? c : a));
  if (integer) b = { value: b.exclusive ? Math.floor(b.value) + 1 : Math.ceil(b.value), exclusive: false };
  return b;
}

function upper(s: JsonSchema, integer: boolean): Bound | undefined {
  const candidates: Bound[] = [];
  if (typeof s.maximum === 'number') candidates.push({ value: s.maximum, exclusive: false });
  if (typeof s.exclusiveMaximum === 'number') candidates.push({ value: s.exclusiveMaximum, exclusive: true });
  if (s.exclusiveMaximum === true && typeof s.maximum === 'number')
    candidates.push({ value: s.maximum, exclusive: true });
  if (candidates.length === 0) return undefined;
  let b = candidates.reduce((a, c) => (c.value < a.value || (c.value === a.value && c.exclusive) ? c : a));
  if (integer) b = { value: b.exclusive ? Math.ceil(b.value) - 1 : Math.floor(b.value), exclusive: false };
  return b;
}

const showLower = (b: Bound | undefined): string =>
  b === undefined ? 'no minimum' : `${b.exclusive ? '>' : '≥'} ${b.value}`;
const showUpper = (b: Bound | undefined): string =>
  b === undefined ? 'no maximum' : `${b.exclusive ? '<' : '≤'} ${b.value}`;

/** Whether every value above writer bound `w` is above reader bound `r` (lower bounds). */
function lowerFits(w: Bound | undefined, r: Bound | undefined): boolean {
  if (r === undefined) return true;
  if (w === undefined) return false;
  return w.value > r.value || (w.value === r.value && (w.exclusive || !r.exclusive));
}

function upperFits(w: Bound | undefined, r: Bound | undefined): boolean {
  if (r === undefined) return true;
  if (w === undefined) return false;
  return w.value < r.value || (w.value === r.value && (w.exclusive || !r.exclusive));
}

function checkNumbers(writer: JsonSchema, reader: JsonSchema, path: string, ctx: Context, integer: boolean): void {
  const wl = lower(writer, integer);
  const rl = lower(reader, integer);
  const wu = upper(writer, integer);
  const ru = upper(reader, integer);
  if (!lowerFits(wl, rl) || !upperFits(wu, ru)) {
    ctx.out.push({
      rule: 'range-narrowed',
      path,
      writer: `${showLower(wl)}, ${showUpper(wu)}`,
      reader: `${showLower(rl)}, ${showUpper(ru)}`,
    });
  }
  const rm = reader.multipleOf;
  if (typeof rm === 'number' && !(integer && Number.isInteger(rm) && rm === 1)) {
    const wm = writer.multipleOf;
    const ratio = typeof wm === 'number' ? wm / rm : Number.NaN;
    if (!(Number.isFinite(ratio) && Math.abs(ratio - Math.round(ratio)) < 1e-9))
      ctx.out.push({
        rule: 'multiple-of-changed',
        path,
        writer: typeof wm === 'number' ? `multiple of ${wm}` : 'any number',
        reader: `multiple of ${rm}`,
      });
  }
}

function countBounds(
  writer: JsonSchema,
  reader: JsonSchema,
  min: string,
  max: string,
  rule: SubsetRule,
  unit: string,
  path: string,
  ctx: Context,
): void {
  const wMin = typeof writer[min] === 'number' ? (writer[min] as number) : 0;
  const rMin = typeof reader[min] === 'number' ? (reader[min] as number) : 0;
  const wMax = typeof writer[max] === 'number' ? (writer[max] as number) : Number.POSITIVE_INFINITY;
  const rMax = typeof reader[max] === 'number' ? (reader[max] as number) : Number.POSITIVE_INFINITY;
  if (wMin >= rMin && wMax <= rMax) return;
  const show = (lo: number, hi: number) => `${lo}..${hi === Number.POSITIVE_INFINITY ? '∞' : hi} ${unit}`;
  ctx.out.push({ rule, path, writer: show(wMin, wMax), reader: show(rMin, rMax) });
}

function checkStrings(writer: JsonSchema, reader: JsonSchema, path: string, ctx: Context): void {
  countBounds(writer, reader, 'minLength', 'maxLength', 'length-narrowed', 'characters', path, ctx);
  if (typeof reader.format === 'string' && writer.format !== reader.format)
    ctx.out.push({
      rule: 'format-changed',
      path,
      writer: typeof writer.format === 'string' ? `format ${writer.format}` : 'any string (no format)',
      reader: `format ${reader.format}`,
    });
  if (typeof reader.pattern === 'string' && writer.pattern !== reader.pattern)
    ctx.out.push({
      rule: 'pattern-changed',
      path,
      writer: typeof writer.pattern === 'string' ? `pattern /${writer.pattern}/` : 'any string (no pattern)',
      reader: `pattern /${reader.pattern}/`,
    });
}

/** What a side allows at one array index or one property: its schema, or `absent` (the writer never writes one). */
type Slot = Side | 'absent';

function tupleItems(s: JsonSchema): { prefix: Side[]; rest: Side | undefined } | undefined {
  if (Array.isArray(s.prefixItems))
    return { prefix: s.prefixItems as Side[], rest: (s.items as Side | undefined) ?? undefined };
  if (Array.isArray(s.items))
    return { prefix: s.items as Side[], rest: (s.additionalItems as Side | undefined) ?? undefined };
  return undefined;
}

function checkArrays(writer: JsonSchema, reader: JsonSchema, path: string, ctx: Context): void {
  countBounds(writer, reader, 'minItems', 'maxItems', 'item-count-narrowed', 'items', path, ctx);
  if (reader.uniqueItems === true && writer.uniqueItems !== true)
    ctx.out.push({ rule: 'unique-items-added', path, writer: 'repeated items allowed', reader: 'unique items' });
  const wt = tupleItems(writer);
  const rt = tupleItems(reader);
  if (wt === undefined && rt === undefined) {
    if (reader.items !== undefined)
      check((writer.items as Side | undefined) ?? true, reader.items as Side, `${path}[*]`, ctx);
    return;
  }
  const wMax = typeof writer.maxItems === 'number' ? writer.maxItems : Number.POSITIVE_INFINITY;
  const wAt = (i: number): Slot => {
    if (i >= wMax) return 'absent';
    if (wt === undefined) return (writer.items as Side | undefined) ?? true;
    return i < wt.prefix.length ? (wt.prefix[i] as Side) : wt.rest === false ? 'absent' : (wt.rest ?? true);
  };
  const rAt = (i: number): Side => {
    if (rt === undefined) return (reader.items as Side | undefined) ?? true;
    return i < rt.prefix.length ? (rt.prefix[i] as Side) : (rt.rest ?? true);
  };
  const n = Math.max(wt?.prefix.length ?? 0, rt?.prefix.length ?? 0) + 1;
  for (let i = 0; i < n; i++) {
    const ws = wAt(i);
    if (ws === 'absent') continue;
    const rs = rAt(i);
    const at = i === n - 1 ? `${path}[${i}…]` : `${path}[${i}]`;
    if (rs === false) {
      ctx.out.push({ rule: 'tuple-changed', path: at, writer: 'an item here', reader: 'no item here' });
      continue;
    }
    check(ws, rs, at, ctx);
  }
}

const propertyPath = (path: string, name: string): string =>
  /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;

function checkObjects(writer: JsonSchema, reader: JsonSchema, path: string, ctx: Context): void {
  countBounds(writer, reader, 'minProperties', 'maxProperties', 'property-count-narrowed', 'properties', path, ctx);
  const wProps = (isObj(writer.properties) ? writer.properties : {}) as Record<string, Side>;
  const rProps = (isObj(reader.properties) ? reader.properties : {}) as Record<string, Side>;
  const wExtra = (writer.additionalProperties as Side | undefined) ?? true;
  const rExtra = (reader.additionalProperties as Side | undefined) ?? true;
  const wRequired = new Set(Array.isArray(writer.required) ? (writer.required as string[]) : []);
  const rRequired = Array.isArray(reader.required) ? (reader.required as string[]) : [];
  const patterned = writer.patternProperties !== undefined || reader.patternProperties !== undefined;

  for (const name of rRequired) {
    if (!wRequired.has(name))
      ctx.out.push({
        rule: 'required-added',
        path: propertyPath(path, name),
        writer: name in wProps ? 'optional' : wExtra === false ? 'never written' : 'not declared (may be left out)',
        reader: 'required',
      });
  }

  const names = [...new Set([...Object.keys(wProps), ...Object.keys(rProps)])].sort();
  for (const name of names) {
    const at = propertyPath(path, name);
    const declaredByWriter = Object.hasOwn(wProps, name);
    const ws: Slot = declaredByWriter ? (wProps[name] as Side) : wExtra === false && !patterned ? 'absent' : wExtra;
    if (ws === 'absent' || ws === false) continue;
    if (Object.hasOwn(rProps, name)) {
      const rs = rProps[name] as Side;
      if (!declaredByWriter && acceptsAll(ws) && !acceptsAll(rs)) {
        ctx.out.push({
          rule: 'property-added-to-open-model',
          path: at,
          writer: 'any value (open content model: undeclared properties allowed)',
          reader: describeDeclared(rs),
        });
        continue;
      }
      check(ws, rs, at, ctx);
      continue;
    }
    // The reader does not declare it: its additionalProperties decides.
    if (rExtra === false) {
      if (patterned) continue;
      ctx.out.push({
        rule: 'property-not-accepted',
        path: at,
        writer: declaredByWriter ? `declares '${name}'` : 'may write it',
        reader: 'closed content model without it',
      });
      continue;
    }
    check(ws, rExtra, at, ctx);
  }

  // Properties neither names.
  if (wExtra === false || patterned) return;
  const any = `${path}.*`;
  if (rExtra === false) {
    ctx.out.push({
      rule: 'content-model-closed',
      path: any,
      writer: acceptsAll(wExtra) ? 'undeclared properties allowed (open)' : 'undeclared properties of a schema',
      reader: 'no undeclared properties (additionalProperties: false)',
    });
    return;
  }
  if (acceptsAll(rExtra)) return;
  if (acceptsAll(wExtra)) {
    ctx.out.push({
      rule: 'content-model-closed',
      path: any,
      writer: 'undeclared properties of any value (open)',
      reader: `undeclared properties must be ${describeDeclared(rExtra)}`,
    });
    return;
  }
  const sub: Context = { ...ctx, out: [] };
  check(wExtra, rExtra, any, sub);
  if (sub.out.length > 0)
    ctx.out.push({
      rule: 'additional-properties-narrowed',
      path: any,
      writer: describeDeclared(wExtra),
      reader: `${describeDeclared(rExtra)} (${sub.out.map((v) => `${v.rule}: ${v.reader}`).join('; ')})`,
    });
}

function describeDeclared(s: Side): string {
  if (s === true) return 'anything';
  if (s === false) return 'nothing';
  return describeSchema(s);
}
