import { createHash } from 'node:crypto';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { isDateTime } from './date-time.js';

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
  return (options.defaults ? ajvWithDefaults : ajv).compile(schema);
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
          : '';
      return `${where} ${e.message ?? 'is invalid'}${extra}`;
    })
    .join('; ');
}
