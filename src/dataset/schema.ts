import { createHash } from 'node:crypto';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { isDateTime } from './date-time.js';
import { compileFastCheck, type FastCheck } from './fast-check.js';

/** A JSON Schema document (authored by hand, with TypeBox, or converted from zod 4). */
export type JsonSchema = Record<string, unknown>;

// ajv-formats is CommonJS; its default export arrives wrapped under Node's ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

/** ajv-formats' full formats, with `date-time` checked by a faster function that gives the same answers. */
function withFormats(instance: Ajv): Ajv {
  addFormats(instance);
  const dateTime = instance.formats['date-time'] as { compare?: (a: string, b: string) => number | undefined };
  return instance.addFormat('date-time', {
    type: 'string',
    validate: isDateTime,
    ...(dateTime.compare === undefined ? {} : { compare: dateTime.compare }),
  });
}

const ajv = withFormats(new Ajv({ strict: false, allErrors: false, useDefaults: false }));
const ajvWithDefaults = withFormats(new Ajv({ strict: false, allErrors: true, useDefaults: true }));

/** Strips non-JSON parts (TypeBox's symbol keys, functions) so the schema can be stored and digested. */
export function toCanonicalSchema(schema: unknown): JsonSchema {
  return JSON.parse(JSON.stringify(schema)) as JsonSchema;
}

/** Serialises with sorted keys, so equal documents give equal text (and equal digests). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** sha256 of the canonical JSON of a schema, as `sha256:<hex>`. */
export function schemaDigest(schema: JsonSchema): string {
  return `sha256:${createHash('sha256').update(canonicalJson(schema)).digest('hex')}`;
}

/** Compiles a validator; throws Ajv's own error for a schema that is not valid JSON Schema. */
export function compileSchema(schema: JsonSchema, options: { defaults?: boolean } = {}): ValidateFunction {
  return (options.defaults ? ajvWithDefaults : ajv).compile(forValidation(schema) as JsonSchema);
}

/**
 * The fast check of a schema (see fast-check.ts), or undefined when the schema needs ajv for every
 * record. It gives the validator's answer; call the validator when it says no, for the reasons.
 */
export function compileFastSchemaCheck(schema: JsonSchema): FastCheck | undefined {
  return compileFastCheck(forValidation(schema) as JsonSchema, ajv.formats as Record<string, unknown>);
}

/** Keywords whose values are data, not schemas: never rewritten. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples']);
/** What a branch of a union of constants may hold besides `const` (annotations, and a matching `type`). */
const CONST_BRANCH_KEYS = new Set(['const', 'type', 'title', 'description', '$comment', 'examples', 'deprecated']);

function jsonTypeMatches(type: unknown, value: unknown): boolean {
  if (Array.isArray(type)) return type.some((t) => jsonTypeMatches(t, value));
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return false;
  }
}

/** The constants of an `anyOf` whose every branch is only a `const` (TypeBox's union of literals), else undefined. */
function unionOfConstants(branches: unknown): unknown[] | undefined {
  if (!Array.isArray(branches) || branches.length === 0) return undefined;
  const values: unknown[] = [];
  for (const b of branches) {
    if (typeof b !== 'object' || b === null || Array.isArray(b) || !Object.hasOwn(b, 'const')) return undefined;
    const branch = b as Record<string, unknown>;
    for (const k of Object.keys(branch)) if (!CONST_BRANCH_KEYS.has(k)) return undefined;
    if (branch.type !== undefined && !jsonTypeMatches(branch.type, branch.const)) return undefined;
    values.push(branch.const);
  }
  return values;
}

/**
 * The schema as it is compiled (the stored schema, its digest and its compatibility checks are the
 * author's, unchanged): an `anyOf` of constants becomes the `enum` of them. Both accept exactly the same
 * values, but ajv builds an error object for every branch an `anyOf` tries and fails, so checking a
 * `currency` of 'GBP' against `anyOf: [EUR, USD, GBP]` allocated two errors per record.
 */
export function forValidation(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(forValidation);
  if (typeof node !== 'object' || node === null) return node;
  // fromEntries defines each key as an own property: a property named `__proto__` stays one.
  const out: Record<string, unknown> = Object.fromEntries(
    Object.entries(node as Record<string, unknown>).map(([k, v]) => [k, DATA_KEYWORDS.has(k) ? v : forValidation(v)]),
  );
  const constants = unionOfConstants(out.anyOf);
  if (constants !== undefined && !Object.hasOwn(out, 'enum') && !Object.hasOwn(out, 'const')) {
    delete out.anyOf;
    out.enum = constants;
  }
  return out;
}

/** One readable line per schema error: `/amount must be number`. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'does not match the schema';
  return errors
    .map((e) => {
      const where = e.instancePath === '' ? '(root)' : e.instancePath;
      const extra =
        e.keyword === 'additionalProperties'
          ? ` '${String((e.params as { additionalProperty?: string }).additionalProperty)}'`
          : e.keyword === 'enum'
            ? `: ${((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}`
            : '';
      return `${where} ${e.message ?? 'is invalid'}${extra}`;
    })
    .join('; ');
}
