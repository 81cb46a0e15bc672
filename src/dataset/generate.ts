import type { JsonSchema } from './schema.js';

/** A small seeded PRNG (mulberry32): the same seed gives the same records. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateOptions {
  /** Distinct values for free-form strings (ids, names): keeps keys repeating like real traffic. Default 1000. */
  cardinality?: number;
  /** Chance that an optional property is present. Default 0.8. */
  optionalRate?: number;
}

/**
 * Makes one value matching a JSON Schema (objects, strings with enum/format/length, numbers with bounds,
 * arrays, unions). Used by `slipway produce --generate`; `slipway sample synth` shapes values by a sample's stats.
 */
export function generateValue(
  schema: JsonSchema,
  random: () => number,
  options: GenerateOptions = {},
  name = 'value',
): unknown {
  const cardinality = options.cardinality ?? 1000;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return pick(schema.enum);
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(union) && union.length > 0) return generateValue(pick(union), random, options, name);
  let type = schema.type as string | string[] | undefined;
  if (Array.isArray(type))
    type = pick(type.filter((t) => t !== 'null').length > 0 ? type.filter((t) => t !== 'null') : type);
  switch (type) {
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((schema.required ?? []) as string[]);
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(props)) {
        if (!required.has(key) && random() > (options.optionalRate ?? 0.8)) continue;
        out[key] = generateValue(sub, random, options, key);
      }
      return out;
    }
    case 'array': {
      const min = (schema.minItems as number | undefined) ?? 0;
      const max = (schema.maxItems as number | undefined) ?? Math.max(min, 3);
      const n = min + Math.floor(random() * (max - min + 1));
      return Array.from({ length: n }, () => generateValue((schema.items ?? {}) as JsonSchema, random, options, name));
    }
    case 'integer':
    case 'number': {
      let min = (schema.minimum as number | undefined) ?? (schema.exclusiveMinimum as number | undefined) ?? 0;
      let max = (schema.maximum as number | undefined) ?? (schema.exclusiveMaximum as number | undefined) ?? min + 1000;
      if (typeof schema.exclusiveMinimum === 'number') min += type === 'integer' ? 1 : 1e-9;
      if (typeof schema.exclusiveMaximum === 'number') max -= type === 'integer' ? 1 : 1e-9;
      if (type === 'integer') return Math.ceil(min) + Math.floor(random() * (Math.floor(max) - Math.ceil(min) + 1));
      return Math.round((min + random() * (max - min)) * 100) / 100;
    }
    case 'boolean':
      return random() < 0.5;
    case 'null':
      return null;
    case 'string':
      return generateString(schema, random, cardinality, name);
    default:
      return null;
  }
}

function generateString(schema: JsonSchema, random: () => number, cardinality: number, name: string): string {
  const n = Math.floor(random() * cardinality);
  switch (schema.format) {
    case 'date-time':
      return new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 365 * 86_400_000)).toISOString();
    case 'date':
      return new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 365) * 86_400_000).toISOString().slice(0, 10);
    case 'email':
      return `user${n}@example.com`;
    case 'uuid': {
      const hex = () =>
        Math.floor(random() * 0x10000)
          .toString(16)
          .padStart(4, '0');
      return `${hex()}${hex()}-${hex()}-4${hex().slice(1)}-a${hex().slice(1)}-${hex()}${hex()}${hex()}`;
    }
    case 'uri':
      return `https://example.com/${name}/${n}`;
  }
  const min = (schema.minLength as number | undefined) ?? 1;
  const max = (schema.maxLength as number | undefined) ?? Math.max(min, 32);
  let s = `${name}-${n}`;
  if (s.length > max) s = s.slice(s.length - max);
  while (s.length < min) s += 'x';
  return s;
}

/** A compiled value maker: {@link compileGenerator}. */
export type ValueGenerator = (random: () => number) => unknown;

/** Steers generation per field path (`slipway sample synth` shapes values by a sample's stats). */
export interface GeneratorShape {
  /** Chance that the optional property at `path` is present; undefined falls back to `optionalRate`. */
  presence?(path: string): number | undefined;
  /** A generator for the value at `path` (`a.b`, `a[]`), or undefined to keep the schema's (`fallback`). */
  value?(path: string, schema: JsonSchema, fallback: ValueGenerator): ValueGenerator | undefined;
}

/**
 * Compiles a JSON Schema into a generator once, for making many values fast. Without a shape it makes the
 * same values as {@link generateValue} for the same random sequence.
 *
 * @example
 * const make = compileGenerator(orders.schema)
 * const random = seededRandom(42)
 * const records = Array.from({ length: 1000 }, () => make(random))
 */
export function compileGenerator(
  schema: JsonSchema,
  options: GenerateOptions = {},
  shape: GeneratorShape = {},
  path = '',
  name = 'value',
): ValueGenerator {
  const fallback = compileNode(schema, options, shape, path, name);
  if (path === '' || shape.value === undefined) return fallback;
  return shape.value(path, schema, fallback) ?? fallback;
}

function compileNode(
  schema: JsonSchema,
  options: GenerateOptions,
  shape: GeneratorShape,
  path: string,
  name: string,
): ValueGenerator {
  const cardinality = options.cardinality ?? 1000;
  if ('const' in schema) {
    const value = schema.const;
    return () => value;
  }
  if (Array.isArray(schema.enum)) {
    const list = schema.enum as unknown[];
    return (random) => list[Math.floor(random() * list.length)];
  }
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(union) && union.length > 0) {
    const alts = union.map((s) => compileNode(s, options, shape, path, name));
    return (random) => (alts[Math.floor(random() * alts.length)] as ValueGenerator)(random);
  }
  const type = schema.type as string | string[] | undefined;
  if (Array.isArray(type)) {
    const usable = type.filter((t) => t !== 'null').length > 0 ? type.filter((t) => t !== 'null') : type;
    const alts = usable.map((t) => compileNode({ ...schema, type: t }, options, shape, path, name));
    return (random) => (alts[Math.floor(random() * alts.length)] as ValueGenerator)(random);
  }
  switch (type) {
    case 'object': {
      const props = Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>);
      const required = new Set((schema.required ?? []) as string[]);
      const fields = props.map(([key, sub]) => {
        const p = path === '' ? key : `${path}.${key}`;
        return {
          key,
          optional: !required.has(key),
          rate: shape.presence?.(p) ?? options.optionalRate ?? 0.8,
          make: compileGenerator(sub, options, shape, p, key),
        };
      });
      return (random) => {
        const out: Record<string, unknown> = {};
        for (const f of fields) {
          if (f.optional && random() > f.rate) continue;
          out[f.key] = f.make(random);
        }
        return out;
      };
    }
    case 'array': {
      const min = (schema.minItems as number | undefined) ?? 0;
      const max = (schema.maxItems as number | undefined) ?? Math.max(min, 3);
      const item = compileGenerator((schema.items ?? {}) as JsonSchema, options, shape, `${path}[]`, name);
      return (random) => {
        const n = min + Math.floor(random() * (max - min + 1));
        return Array.from({ length: n }, () => item(random));
      };
    }
    case 'integer':
    case 'number': {
      let min = (schema.minimum as number | undefined) ?? (schema.exclusiveMinimum as number | undefined) ?? 0;
      let max = (schema.maximum as number | undefined) ?? (schema.exclusiveMaximum as number | undefined) ?? min + 1000;
      if (typeof schema.exclusiveMinimum === 'number') min += type === 'integer' ? 1 : 1e-9;
      if (typeof schema.exclusiveMaximum === 'number') max -= type === 'integer' ? 1 : 1e-9;
      if (type === 'integer') {
        const lo = Math.ceil(min);
        const span = Math.floor(max) - lo + 1;
        return (random) => lo + Math.floor(random() * span);
      }
      return (random) => Math.round((min + random() * (max - min)) * 100) / 100;
    }
    case 'boolean':
      return (random) => random() < 0.5;
    case 'null':
      return () => null;
    case 'string':
      return (random) => generateString(schema, random, cardinality, name);
    default:
      return () => null;
  }
}
