/**
 * The Confluent wire format of a record value: magic byte 0, the schema id as a 4-byte big-endian integer, then
 * the payload (Avro binary, or JSON text for JSON Schema). Any client of a Confluent-compatible registry reads it.
 */
import { ErrorCodes, SlipwayError } from '../../errors.js';

/** The first byte of every value in the wire format. */
export const WIRE_MAGIC = 0;
/** Magic byte plus schema id. */
export const WIRE_HEADER_BYTES = 5;

/** One value in the wire format: its schema id and its payload. */
export interface WireValue {
  schemaId: number;
  payload: Buffer;
}

/**
 * Frames `payload` with the magic byte and `schemaId`.
 * @example encodeWire(7, Buffer.from('{"a":1}')) // <00 00 00 00 07 7b ...>
 */
export function encodeWire(schemaId: number, payload: Uint8Array): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0xffffffff) {
    throw new SlipwayError(ErrorCodes.WIRE_FORMAT, `schema id ${schemaId} is not a 32-bit unsigned integer`);
  }
  const out = Buffer.allocUnsafe(WIRE_HEADER_BYTES + payload.length);
  out[0] = WIRE_MAGIC;
  out.writeUInt32BE(schemaId, 1);
  out.set(payload, WIRE_HEADER_BYTES);
  return out;
}

/**
 * Splits a wire-format value into its schema id and payload. Thrown: `SLIPWAY_WIRE_FORMAT` when the value is
 * shorter than the header or its first byte is not 0 (a plain JSON value, say, written by another producer).
 */
export function decodeWire(value: Uint8Array): WireValue {
  const buf = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.length < WIRE_HEADER_BYTES || buf[0] !== WIRE_MAGIC) {
    throw new SlipwayError(
      ErrorCodes.WIRE_FORMAT,
      `the value is not in the Confluent wire format (${buf.length < WIRE_HEADER_BYTES ? `${buf.length} bytes, fewer than the 5-byte header` : `first byte ${buf[0]}, not the magic byte 0`}): write it with a registry serializer`,
      { details: { reason: 'not-wire-format', length: buf.length } },
    );
  }
  return { schemaId: buf.readUInt32BE(1), payload: buf.subarray(WIRE_HEADER_BYTES) };
}
