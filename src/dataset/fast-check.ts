import type { JsonSchema } from './schema.js';

/**
 * A record check compiled straight from a dataset's schema, for the hot path: it gives ajv's answer
 * (tested against it on many generated and mutated values) but reads each property of the record once,
 * where ajv's code reads it up to three times (is it missing, is it defined, what type is it).
 * That matters for objects V8 gives a hidden class of their own: an output built with a spread
 * (`{ ...order, amountEur }`) gets a new one for every object on Node 20, so every property read
 * misses V8's caches. ajv stays the authority: the runtime asks it whenever this check says no (to
 * confirm, and for the reasons), and a schema using a keyword outside the set below gets no fast
 * check at all.
 *
 * Supported: type (one or several), properties, required, additionalProperties (true or false),
 * items (one schema), enum and const (of strings, numbers, booleans and null), minLength and
 * maxLength (in code points, as ajv counts), minimum, maximum, exclusiveMinimum, exclusiveMaximum,
 * pattern, minItems, maxItems, format (those the validator knows, checked by its own functions),
 * anyOf, allOf, and annotations.
 */
export type FastCheck = (value: unknown) => boolean;

/** A format as ajv holds it: a regular expression, a function, or an object with `validate`. */
export type FormatDefinition =
  | RegExp
  | ((s: string) => boolean)
  | { validate: RegExp | ((s: string) => boolean); async?: boolean; type?: string };

const ANNOTATIONS = new Set([
  'title',
  'description',
  '$comment',
  'default',
  'examples',
  'readOnly',
  'writeOnly',
  'deprecated',
  '$schema',
  '$id',
]);
const HANDLED = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'pattern',
  'minItems',
  'maxItems',
  'format',
  'anyOf',
  'allOf',
]);
const TYPES: Record<string, (v: string) => string> = {
  object: (v) => `(${v} !== null && typeof ${v} === 'object' && !Array.isArray(${v}))`,
  array: (v) => `Array.isArray(${v})`,
  string: (v) => `typeof ${v} === 'string'`,
  number: (v) => `typeof ${v} === 'number'`,
  // ajv's own test: Infinity passes it too.
  integer: (v) => `(typeof ${v} === 'number' && !(${v} % 1) && !isNaN(${v}))`,
  boolean: (v) => `typeof ${v} === 'boolean'`,
  null: (v) => `${v} === null`,
};
const LIMITS: Record<string, string> = { minimum: '<', maximum: '>', exclusiveMinimum: '<=', exclusiveMaximum: '>=' };
/** Property names a bracket read does not reach as an own data property. */
const UNSAFE_NAMES = new Set(['__proto__']);

class Unsupported extends Error {}

/** The number of code points of `s` (a surrogate pair counts once), as ajv's ucs2length counts them. */
export function codePoints(s: string): number {
  const len = s.length;
  let n = 0;
  for (let i = 0; i < len; i++) {
    n++;
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
  }
  return n;
}

/**
 * Compiles the fast check of `schema` (as it is compiled for validation), or returns undefined when
 * the schema uses something outside the supported set. `formats` are the validator's own.
 */
export function compileFastCheck(schema: JsonSchema, formats: Record<string, unknown>): FastCheck | undefined {
  const constants: unknown[] = [];
  const constant = (value: unknown): string => {
    constants.push(value);
    return `k[${constants.length - 1}]`;
  };
  let vars = 0;
  const fresh = (): string => `v${vars++}`;

  /** Statements that `return false` when the value in `v` does not match `node`. */
  const emit = (node: unknown, v: string): string => {
    if (node === true) return '';
    if (typeof node !== 'object' || node === null || Array.isArray(node)) throw new Unsupported();
    const s = node as Record<string, unknown>;
    let code = '';
    for (const k of Object.keys(s)) if (!HANDLED.has(k) && !ANNOTATIONS.has(k)) throw new Unsupported();
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? s.type : [s.type];
      if (types.length === 0 || types.some((t) => typeof t !== 'string' || TYPES[t] === undefined))
        throw new Unsupported();
      code += `if (!(${types.map((t) => (TYPES[t as string] as (v: string) => string)(v)).join(' || ')})) return false;\n`;
    }
    for (const kw of ['enum', 'const'] as const) {
      if (!(kw in s)) continue;
      const values = kw === 'enum' ? s.enum : [s.const];
      if (!Array.isArray(values) || values.length === 0) throw new Unsupported();
      for (const x of values) {
        if (
          x !== null &&
          typeof x !== 'string' &&
          typeof x !== 'boolean' &&
          !(typeof x === 'number' && Number.isFinite(x))
        )
          throw new Unsupported();
      }
      code += `if (!(${values.map((x) => `${v} === ${JSON.stringify(x)}`).join(' || ')})) return false;\n`;
    }
    for (const [kw, op] of Object.entries(LIMITS)) {
      if (!(kw in s)) continue;
      if (typeof s[kw] !== 'number' || !Number.isFinite(s[kw])) throw new Unsupported();
      code += `if (typeof ${v} === 'number' && (${v} ${op} ${s[kw]} || isNaN(${v}))) return false;\n`;
    }
    const length = (kw: string): number | undefined => {
      if (!(kw in s)) return undefined;
      const n = s[kw];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new Unsupported();
      return n;
    };
    const minLength = length('minLength');
    const maxLength = length('maxLength');
    if (minLength !== undefined) {
      // Code points ≤ code units: too few units is too short for certain; otherwise count (only when a pair could matter).
      code += `if (typeof ${v} === 'string' && (${v}.length < ${minLength} || (${v}.length < ${2 * minLength} && cp(${v}) < ${minLength}))) return false;\n`;
    }
    if (maxLength !== undefined) {
      code += `if (typeof ${v} === 'string' && ${v}.length > ${maxLength} && cp(${v}) > ${maxLength}) return false;\n`;
    }
    if (s.pattern !== undefined) {
      if (typeof s.pattern !== 'string') throw new Unsupported();
      code += `if (typeof ${v} === 'string' && !${constant(new RegExp(s.pattern, 'u'))}.test(${v})) return false;\n`;
    }
    if (s.format !== undefined) {
      const format = typeof s.format === 'string' ? (formats[s.format] as FormatDefinition | undefined) : undefined;
      const test = formatTest(format);
      if (test === undefined) throw new Unsupported();
      code += `if (typeof ${v} === 'string' && !${constant(test)}(${v})) return false;\n`;
    }
    const minItems = length('minItems');
    const maxItems = length('maxItems');
    if (minItems !== undefined) code += `if (Array.isArray(${v}) && ${v}.length < ${minItems}) return false;\n`;
    if (maxItems !== undefined) code += `if (Array.isArray(${v}) && ${v}.length > ${maxItems}) return false;\n`;
    if (s.items !== undefined) {
      const item = fresh();
      const i = fresh();
      code += `if (Array.isArray(${v})) for (let ${i} = 0; ${i} < ${v}.length; ${i}++) { const ${item} = ${v}[${i}];\n${emit(s.items, item)}}\n`;
    }
    if (s.properties !== undefined || s.required !== undefined || s.additionalProperties !== undefined) {
      code += `if (${TYPES.object?.(v)}) {\n${emitObject(s, v)}}\n`;
    }
    for (const kw of ['anyOf', 'allOf'] as const) {
      if (s[kw] === undefined) continue;
      const branches = s[kw];
      if (!Array.isArray(branches) || branches.length === 0) throw new Unsupported();
      const fns = branches.map((b) => `((${v}) => {\n${emit(b, v)}return true; })(${v})`);
      code += `if (!(${fns.join(kw === 'anyOf' ? ' || ' : ' && ')})) return false;\n`;
    }
    return code;
  };

  const emitObject = (s: Record<string, unknown>, v: string): string => {
    const properties = (s.properties ?? {}) as Record<string, unknown>;
    const required = s.required ?? [];
    if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) throw new Unsupported();
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) throw new Unsupported();
    const names = Object.keys(properties);
    for (const name of [...names, ...required]) if (UNSAFE_NAMES.has(name)) throw new Unsupported();
    let code = '';
    for (const name of required as string[]) {
      if (!(name in properties)) code += `if (${v}[${JSON.stringify(name)}] === undefined) return false;\n`;
    }
    for (const name of names) {
      const p = fresh();
      code += `const ${p} = ${v}[${JSON.stringify(name)}];\n`;
      const check = emit(properties[name], p);
      if (required.includes(name)) code += `if (${p} === undefined) return false;\n${check}`;
      else if (check !== '') code += `if (${p} !== undefined) {\n${check}}\n`;
    }
    if (s.additionalProperties === false) {
      const key = fresh();
      const allowed = names.length === 0 ? 'false' : names.map((n) => `${key} === ${JSON.stringify(n)}`).join(' || ');
      code += `for (const ${key} in ${v}) if (!(${allowed})) return false;\n`;
    } else if (s.additionalProperties !== undefined && s.additionalProperties !== true) throw new Unsupported();
    return code;
  };

  let body: string;
  try {
    body = emit(schema, 'data');
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
  const make = new Function('k', 'cp', `return function fastCheck(data) {\n${body}return true;\n};`) as (
    k: unknown[],
    cp: (s: string) => number,
  ) => FastCheck;
  return make(constants, codePoints);
}

/** The function ajv would call for a string format, or undefined for an unknown or asynchronous one. */
function formatTest(format: FormatDefinition | undefined): ((s: string) => boolean) | undefined {
  if (format === undefined) return undefined;
  if (format instanceof RegExp) return (s) => format.test(s);
  if (typeof format === 'function') return format;
  if (typeof format !== 'object' || format.async === true) return undefined;
  if (format.type !== undefined && format.type !== 'string') return undefined;
  const validate = format.validate;
  if (validate instanceof RegExp) return (s) => validate.test(s);
  return typeof validate === 'function' ? validate : undefined;
}
