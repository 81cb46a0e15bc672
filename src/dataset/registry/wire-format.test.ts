import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSlipwayError } from '../../errors.js';
import { defineDataset } from '../dataset.js';
import { avro, jsonSchema } from './value-format.js';
import { decodeWire, encodeWire } from './wire-format.js';

describe('Confluent wire format', () => {
  it('frames a payload with magic byte 0 and a big-endian schema id, and splits it back', () => {
    const bytes = encodeWire(0x01020304, Buffer.from('{"a":1}'));
    assert.deepEqual([...bytes.subarray(0, 5)], [0, 1, 2, 3, 4]);
    const { schemaId, payload } = decodeWire(bytes);
    assert.equal(schemaId, 0x01020304);
    assert.equal(payload.toString(), '{"a":1}');
  });

  it('refuses a value without the header or with another magic byte (SLIPWAY_WIRE_FORMAT)', () => {
    for (const bad of [Buffer.from([0, 0, 1]), Buffer.from('{"a":1}')]) {
      assert.throws(
        () => decodeWire(bad),
        (e) => isSlipwayError(e, 'SLIPWAY_WIRE_FORMAT'),
      );
    }
  });

  it('a dataset keeps its registry format; a malformed Avro schema or format is a definition error', () => {
    const schema = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };
    const d = defineDataset({ name: 'x', version: '1.0.0', key: 'id', schema, format: jsonSchema(schema) });
    assert.equal(d.format?.schemaType, 'JSON');
    assert.throws(
      () => avro({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'nope' }] }),
      (e) => isSlipwayError(e, 'SLIPWAY_INVALID_DEFINITION'),
    );
    assert.throws(
      () => defineDataset({ name: 'x', version: '1.0.0', key: 'id', schema, format: { kind: 'xml' } as never }),
      (e) => isSlipwayError(e, 'SLIPWAY_INVALID_DEFINITION'),
    );
  });
});
