import type { ValidateFunction } from 'ajv';
import { compileSchema, describeErrors, type JsonSchema } from '../dataset/schema.js';
import { SlipwayError } from '../errors.js';

/**
 * Config keys the schema does not declare, as JSON pointers (`/threshold`, `/limits/max`): wherever
 * an object schema lists its `properties` and does not allow others explicitly, any other key is a
 * typo or a leftover that would be silently ignored, so it is refused.
 */
export function unknownConfigKeys(schema: JsonSchema, value: unknown, path = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const s = schema as { properties?: Record<string, JsonSchema>; additionalProperties?: unknown };
  if (s.properties === undefined) return [];
  const out: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const child = s.properties[key];
    if (child === undefined) {
      if (s.additionalProperties === undefined || s.additionalProperties === false) out.push(`${path}/${key}`);
      continue;
    }
    out.push(...unknownConfigKeys(child, v, `${path}/${key}`));
  }
  return out;
}

const compiled = new WeakMap<object, ValidateFunction>();

/**
 * Checks a pipeline's config against its config schema (from the pipeline, or from an artifact's
 * manifest, without loading its code) and returns it with the schema's defaults applied. Refused with
 * `SLIPWAY_INVALID_CONFIG` naming the field: a value of the wrong type, or a key the schema does not declare.
 *
 * @example
 * const config = resolveConfig(manifest.configSchema, manifest.name, { vipThresholdEur: 500 })
 */
export function resolveConfig<C = unknown>(
  schema: JsonSchema | null | undefined,
  pipeline: string,
  config: unknown,
): C {
  const value = structuredClone(config ?? {}) as C;
  if (schema === null || schema === undefined) return value;
  const unknown = unknownConfigKeys(schema, value);
  if (unknown.length > 0) {
    throw new SlipwayError(
      'SLIPWAY_INVALID_CONFIG',
      `Config of pipeline '${pipeline}' has ${unknown.length === 1 ? 'a key' : 'keys'} its config schema does not declare: ${unknown.join(', ')}. Remove ${unknown.length === 1 ? 'it' : 'them'}, or fix the spelling.`,
      { details: { pipeline, path: unknown[0], unknownKeys: unknown } },
    );
  }
  let validate = compiled.get(schema as object);
  if (validate === undefined) {
    validate = compileSchema(schema, { defaults: true });
    compiled.set(schema as object, validate);
  }
  if (!validate(value)) {
    const first = validate.errors?.[0];
    throw new SlipwayError(
      'SLIPWAY_INVALID_CONFIG',
      `Config of pipeline '${pipeline}' is invalid: ${describeErrors(validate.errors)}. Fix the config given at deploy or run time.`,
      { details: { pipeline, path: first?.instancePath ?? '', errors: validate.errors } },
    );
  }
  return value;
}
