import type { Dataset } from '../dataset/dataset.js';
import { compileGenerator, type GeneratorShape, seededRandom, type ValueGenerator } from '../dataset/generate.js';
import { compileSchema, type JsonSchema } from '../dataset/schema.js';
import { SlipwayError } from '../errors.js';
import { avroFieldResolver, withAvroFields } from './avro-fields.js';
import type { FieldStats, SampleStats, ScalarValue } from './stats.js';

export interface SynthOptions<T> {
  dataset: Dataset<T>;
  /** A sample's stats: shape values like the sample (common values by share, numbers by quantiles, presence). */
  stats?: SampleStats;
  /** Same seed, same records (default 1). */
  seed?: number;
  /** Distinct values of free-form strings without stats (ids, names). Default 1000. */
  cardinality?: number;
}

/** Makes synthetic records one at a time (for streaming millions to a file or the log). */
export interface Synthesizer<T> {
  next(): T;
  /** Records generated that failed the schema and were made again. */
  readonly retries: number;
}

const MAX_TRIES = 20;

/**
 * Creates a generator of schema-valid synthetic records for a dataset, optionally shaped by a sample's stats:
 * optional fields appear at the sample's presence rate, common values (enums, categories, booleans) at their
 * shares, numbers follow the sample's percentiles within the schema's bounds, and everything else comes from the
 * schema alone. Every record passes `dataset.is()`.
 *
 * @example
 * const synth = createSynthesizer({ dataset: orders, stats: (await readSampleStats('orders.v1/default')).stats })
 * for (let i = 0; i < 1_000_000; i++) write(synth.next())
 */
export function createSynthesizer<T>(options: SynthOptions<T>): Synthesizer<T> {
  const { dataset, stats } = options;
  const random = seededRandom(options.seed ?? 1);
  const shaped = stats === undefined ? {} : statsShape(stats);
  // An Avro format's bytes, fixed, decimal and enum fields are text the JSON Schema does not describe (see avro-fields.ts).
  const format = dataset.format;
  const shape = format?.kind === 'avro' ? withAvroFields(shaped, avroFieldResolver(format.schemaText)) : shaped;
  const make = compileGenerator(dataset.schema, { cardinality: options.cardinality ?? 1000 }, shape);
  let retries = 0;
  return {
    get retries() {
      return retries;
    },
    next(): T {
      for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
        const value = make(random);
        if (dataset.is(value)) return value;
        retries++;
        if (attempt === MAX_TRIES - 1) {
          throw new SlipwayError(
            'SLIPWAY_VALIDATION',
            `Cannot make a valid synthetic record for ${dataset.topic}: ${dataset.explain(value)}. ` +
              'The schema uses a constraint the generator does not know (e.g. pattern); add an enum, format or const for that field.',
            { details: { dataset: dataset.topic } },
          );
        }
      }
      throw new Error('unreachable');
    },
  };
}

/**
 * Makes `count` schema-valid synthetic records (see {@link createSynthesizer}).
 *
 * @example
 * const records = synthesize({ dataset: orders, count: 100_000, stats, seed: 7 })
 */
export function synthesize<T>(options: SynthOptions<T> & { count: number }): T[] {
  if (!Number.isSafeInteger(options.count) || options.count < 0) {
    throw new SlipwayError('SLIPWAY_USAGE', `The record count must be a whole number ≥ 0, got ${options.count}.`);
  }
  const synth = createSynthesizer(options);
  const out = new Array<T>(options.count);
  for (let i = 0; i < options.count; i++) out[i] = synth.next();
  return out;
}

function parentPath(path: string): string {
  if (path.endsWith('[]')) return path.slice(0, -2);
  const dot = path.lastIndexOf('.');
  return dot === -1 ? '' : path.slice(0, dot);
}

/** A weighted choice over values plus a share left to another generator. */
function weighted(values: ScalarValue[], weights: number[], other: ValueGenerator | undefined): ValueGenerator {
  const cum: number[] = [];
  let sum = 0;
  for (const w of weights) {
    sum += w;
    cum.push(sum);
  }
  // Without an "other" generator the listed values take the whole probability.
  const scale = other === undefined ? sum : 1;
  return (random) => {
    const u = random() * scale;
    for (let i = 0; i < cum.length; i++) if (u < (cum[i] as number)) return values[i];
    return other === undefined ? values[values.length - 1] : other(random);
  };
}

function numericGenerator(schema: JsonSchema, f: FieldStats): ValueGenerator | undefined {
  const n = f.numeric;
  if (n === undefined || n.percentiles.length < 2) return undefined;
  const d = n.percentiles;
  const last = d.length - 1;
  const integer = schema.type === 'integer';
  const step = integer ? 1 : 10 ** -Math.min(n.decimals, 10);
  let lo = typeof schema.minimum === 'number' ? schema.minimum : Number.NEGATIVE_INFINITY;
  let hi = typeof schema.maximum === 'number' ? schema.maximum : Number.POSITIVE_INFINITY;
  if (typeof schema.exclusiveMinimum === 'number') lo = schema.exclusiveMinimum + step;
  if (typeof schema.exclusiveMaximum === 'number') hi = schema.exclusiveMaximum - step;
  const round = (x: number): number => (integer ? Math.round(x) : Number(x.toFixed(Math.min(n.decimals, 10))));
  return (random) => {
    const pos = random() * last;
    const i = Math.min(last - 1, Math.floor(pos));
    const a = d[i] as number;
    const v = round(a + ((d[i + 1] as number) - a) * (pos - i));
    return Math.min(Math.max(v, lo), hi);
  };
}

/** Turns stats into per-path presence rates and value generators. */
function statsShape(stats: SampleStats): GeneratorShape {
  const occurrences = (path: string): number => {
    if (path === '') return stats.records;
    const parent = stats.fields[path];
    return parent?.types.object ?? 0;
  };
  return {
    presence(path) {
      const f = stats.fields[path];
      const parent = occurrences(parentPath(path));
      if (parent === 0) return undefined;
      return Math.min(1, (f?.count ?? 0) / parent);
    },
    value(path, schema, fallback) {
      const f = stats.fields[path];
      if (f === undefined || 'const' in schema) return undefined;
      let validate: ((v: unknown) => boolean) | undefined;
      try {
        const compiled = compileSchema(schema);
        validate = (v) => compiled(v) as boolean;
      } catch {
        return undefined;
      }
      const scalars = (f.types.string ?? 0) + (f.types.number ?? 0) + (f.types.boolean ?? 0);
      const top = (f.top ?? []).filter((t) => validate(t.value));
      const complete = f.distinctExact === true && f.distinct === f.top?.length;
      if (top.length > 0 && scalars > 0 && complete) {
        // Every value the sample holds is listed (enums, small whole numbers): draw them by their shares.
        return weighted(
          top.map((t) => t.value),
          top.map((t) => t.count / scalars),
          undefined,
        );
      }
      // Numbers follow the percentiles, which already carry the common values' weight.
      const numeric = numericGenerator(schema, f);
      if (numeric !== undefined && validate(f.numeric?.quantiles.p50)) return numeric;
      if (top.length === 0 || scalars === 0) return undefined;
      // Common strings by their shares, the rest free-form from the schema.
      return weighted(
        top.map((t) => t.value),
        top.map((t) => t.count / scalars),
        fallback,
      );
    },
  };
}
