/**
 * Avro types as Slipway's values hold them. A pipeline's values are JSON, and Avro's binary kinds have no JSON value
 * of their own, so they are given one both ways (writing with a schema, reading with it, and checking a value):
 * - `bytes` and `fixed`: the bytes as a base64 string (`"aGVsbG8="`), as Kafka Connect's JSON converter writes them;
 * - the `decimal` logical type (on `bytes` or `fixed`): the exact decimal as a string with the schema's scale
 *   (`"-12.34"` for scale 2), never a float: a JSON number would lose digits a decimal keeps.
 * Other logical types read as their underlying type (`timestamp-millis` a number, `uuid` a string).
 */
import avsc from 'avsc';
import { ErrorCodes, SlipwayError } from '../../errors.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `bytes` and `fixed` as base64 text. */
class Base64Bytes extends avsc.types.LogicalType {
  readonly #size: number | undefined;

  constructor(schema: avsc.Schema, opts?: avsc.ForSchemaOptions) {
    super(schema, opts);
    const s = schema as { type: string; size?: number };
    this.#size = s.type === 'fixed' ? s.size : undefined;
  }

  override _fromValue(value: Buffer): string {
    return value.toString('base64');
  }

  override _toValue(value: unknown): Buffer | undefined {
    if (typeof value !== 'string' || !BASE64.test(value)) return undefined;
    const bytes = Buffer.from(value, 'base64');
    return this.#size === undefined || bytes.length === this.#size ? bytes : undefined;
  }

  override _resolve(writer: avsc.Type): ((value: unknown) => unknown) | undefined {
    // The writer's value is already base64 text when it is one of these; Avro lets `bytes` read a `string`.
    if (writer instanceof Base64Bytes && writer.#size === this.#size) return (v) => v;
    if (this.#size === undefined && writer.typeName === 'string')
      return (v) => Buffer.from(v as string, 'utf8').toString('base64');
    return undefined;
  }
}

/** The `decimal` logical type: two's-complement big-endian unscaled digits, as a decimal string with `scale`. */
class Decimal extends avsc.types.LogicalType {
  readonly #scale: number;
  readonly #size: number | undefined;

  constructor(schema: avsc.Schema, opts?: avsc.ForSchemaOptions) {
    super(schema, opts);
    const s = schema as { type: string; scale?: number; size?: number };
    // The spec gives `decimal` to bytes and fixed only; on another type it is ignored. Throwing here makes avsc
    // fall back to the underlying type (an int stays an int): avsc catches it, no caller sees it.
    if (s.type !== 'bytes' && s.type !== 'fixed')
      throw new SlipwayError(
        ErrorCodes.INVALID_DEFINITION,
        `the decimal logical type applies to bytes and fixed, not ${s.type}; it is ignored there`,
      );
    this.#scale = s.scale ?? 0;
    this.#size = s.type === 'fixed' ? s.size : undefined;
  }

  override _fromValue(value: Buffer): string {
    let n = 0n;
    for (const b of value) n = (n << 8n) | BigInt(b);
    if (value.length > 0 && ((value[0] as number) & 0x80) !== 0) n -= 1n << BigInt(8 * value.length);
    const negative = n < 0n;
    let digits = (negative ? -n : n).toString().padStart(this.#scale + 1, '0');
    if (this.#scale > 0) digits = `${digits.slice(0, -this.#scale)}.${digits.slice(-this.#scale)}`;
    return negative ? `-${digits}` : digits;
  }

  override _toValue(value: unknown): Buffer | undefined {
    if (typeof value !== 'string') return undefined;
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value);
    if (m === null) return undefined;
    const fraction = m[3] ?? '';
    // More digits than the scale would be rounded: refused, a decimal is exact.
    if (fraction.length > this.#scale) return undefined;
    let n = BigInt(`${m[2]}${fraction.padEnd(this.#scale, '0')}`);
    if (m[1] === '-') n = -n;
    let length = 1;
    while (n >= 1n << BigInt(8 * length - 1) || n < -(1n << BigInt(8 * length - 1))) length++;
    if (this.#size !== undefined) {
      if (length > this.#size) return undefined;
      length = this.#size;
    }
    const out = Buffer.alloc(length);
    let x = n < 0n ? (1n << BigInt(8 * length)) + n : n;
    for (let i = length - 1; i >= 0; i--) {
      out[i] = Number(x & 0xffn);
      x >>= 8n;
    }
    return out;
  }

  override _resolve(writer: avsc.Type): ((value: unknown) => unknown) | undefined {
    return writer instanceof Decimal && writer.#scale === this.#scale ? (v) => v : undefined;
  }
}

const LOGICAL_TYPES = { decimal: Decimal, 'slipway-base64': Base64Bytes };

/** Plain `bytes` and `fixed` (no logical type of their own) become base64 text. */
function typeHook(schema: avsc.Schema, opts: avsc.ForSchemaOptions): avsc.Type | undefined {
  const s = (typeof schema === 'string' ? { type: schema } : schema) as { type?: unknown; logicalType?: unknown };
  if ((s.type !== 'bytes' && s.type !== 'fixed') || s.logicalType !== undefined) return undefined;
  // The same options (the same registry of named types: a `fixed` is referred to by its name), without the hook.
  return avsc.Type.forSchema({ ...s, logicalType: 'slipway-base64' } as avsc.Schema, {
    ...opts,
    typeHook: undefined,
    logicalTypes: LOGICAL_TYPES,
  });
}

/**
 * The avsc type of an Avro schema (an object or its JSON text) with Slipway's JSON values for `bytes`, `fixed` and
 * `decimal` (see above). Thrown: avsc's error when the schema does not parse.
 * @example avroType({ type: 'record', name: 'Payment', fields: [{ name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } }] })
 */
export function avroType(schema: unknown): avsc.Type {
  const parsed = typeof schema === 'string' ? JSON.parse(schema) : schema;
  return avsc.Type.forSchema(parsed as avsc.Schema, { logicalTypes: LOGICAL_TYPES, typeHook });
}
