import type { ValidateFunction } from 'ajv';
import { canonicalJson, compileSchema, type JsonSchema } from './schema.js';
import {
  acceptsAll,
  type Context,
  describeDeclared,
  isObj,
  listValues,
  type Side,
  type SubsetRule,
} from './subset-context.js';

// The keywords of the subset check, one schema against another at one path: enum/const values, numeric
// and length bounds, formats and patterns, arrays and tuples, objects and their content models. The
// combinators (`$ref`, `allOf`, unions) are in schema-combinators.ts.

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

export function checkValues(
  values: unknown[],
  writer: JsonSchema,
  reader: JsonSchema,
  path: string,
  ctx: Context,
): void {
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

export function checkOpaque(writer: JsonSchema, reader: JsonSchema, path: string, ctx: Context): void {
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

export function checkNumbers(
  writer: JsonSchema,
  reader: JsonSchema,
  path: string,
  ctx: Context,
  integer: boolean,
): void {
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

export function checkStrings(writer: JsonSchema, reader: JsonSchema, path: string, ctx: Context): void {
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

export function checkArrays(writer: JsonSchema, reader: JsonSchema, path: string, ctx: Context): void {
  countBounds(writer, reader, 'minItems', 'maxItems', 'item-count-narrowed', 'items', path, ctx);
  if (reader.uniqueItems === true && writer.uniqueItems !== true)
    ctx.out.push({ rule: 'unique-items-added', path, writer: 'repeated items allowed', reader: 'unique items' });
  const wt = tupleItems(writer);
  const rt = tupleItems(reader);
  if (wt === undefined && rt === undefined) {
    if (reader.items !== undefined)
      ctx.check((writer.items as Side | undefined) ?? true, reader.items as Side, `${path}[*]`, ctx);
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
    ctx.check(ws, rs, at, ctx);
  }
}

const propertyPath = (path: string, name: string): string =>
  /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;

export function checkObjects(writer: JsonSchema, reader: JsonSchema, path: string, ctx: Context): void {
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
      ctx.check(ws, rs, at, ctx);
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
    ctx.check(ws, rExtra, at, ctx);
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
  ctx.check(wExtra, rExtra, any, sub);
  if (sub.out.length > 0)
    ctx.out.push({
      rule: 'additional-properties-narrowed',
      path: any,
      writer: describeDeclared(wExtra),
      reader: `${describeDeclared(rExtra)} (${sub.out.map((v) => `${v.rule}: ${v.reader}`).join('; ')})`,
    });
}
