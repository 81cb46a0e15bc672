import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avsc from 'avsc';
import { avro, formatMismatch } from 'slipway';
import { avroType } from './avro-types.js';

const decimal = (scale: number, extra: Record<string, unknown> = {}) => ({
  type: 'bytes',
  logicalType: 'decimal',
  precision: 20,
  scale,
  ...extra,
});
const PAYMENT = {
  type: 'record',
  name: 'Payment',
  fields: [
    { name: 'signature', type: 'bytes' },
    { name: 'token', type: { type: 'fixed', name: 'Token', size: 4 } },
    // A named fixed referred to by its name.
    { name: 'previous', type: ['null', 'Token'], default: null },
    { name: 'amount', type: decimal(2) },
    { name: 'rate', type: { type: 'fixed', name: 'Rate', size: 3, logicalType: 'decimal', precision: 6, scale: 4 } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};

describe('Avro bytes, fixed and decimal as JSON values', () => {
  const type = avroType(PAYMENT);
  const plain = avsc.Type.forSchema(PAYMENT as avsc.Schema);

  it('writes base64 and decimal strings as the bytes any Avro reader reads, and reads them back the same', () => {
    const value = {
      signature: Buffer.from('hello').toString('base64'),
      token: Buffer.from([1, 2, 3, 4]).toString('base64'),
      previous: Buffer.from([9, 9, 9, 9]).toString('base64'),
      amount: '-12.34',
      rate: '0.0125',
      at: 1_790_000_000_000,
    };
    assert.ok(type.isValid(value));
    const bytes = type.toBuffer(value);
    const outside = plain.fromBuffer(bytes) as Record<string, unknown>;
    assert.equal((outside.signature as Buffer).toString(), 'hello');
    assert.deepEqual([...(outside.token as Buffer)], [1, 2, 3, 4]);
    assert.equal((outside.amount as Buffer).readInt16BE(), -1234);
    assert.equal((outside.rate as Buffer).length, 3);
    assert.equal((outside.rate as Buffer).readIntBE(0, 3), 125);
    assert.deepEqual({ ...(type.fromBuffer(bytes) as object) }, value);
    // And what an outside writer wrote (Buffers) reads as the same JSON values.
    const written = plain.toBuffer(outside);
    assert.deepEqual(JSON.parse(JSON.stringify({ ...(type.fromBuffer(written) as object) })), value);
  });

  it('decimals keep every digit: zero, negatives, values past a double, the scale padded', () => {
    const t = avroType(decimal(3));
    for (const [text, read] of [
      ['0', '0.000'],
      ['-0.001', '-0.001'],
      ['1.5', '1.500'],
      ['-128', '-128.000'],
      ['123456789012345678.901', '123456789012345678.901'],
      ['-99999999999999999999.999', '-99999999999999999999.999'],
    ] as const)
      assert.equal(t.fromBuffer(t.toBuffer(text)), read, text);
    assert.equal(avroType(decimal(0)).fromBuffer(avroType(decimal(0)).toBuffer('-42')), '-42');
  });

  it('refuses what has no exact encoding: not base64, a fixed of another size, more decimals than the scale, a number', () => {
    const base = {
      signature: '',
      token: 'AQIDBA==',
      previous: null,
      amount: '1.00',
      rate: '0.0001',
      at: 0,
    };
    assert.ok(type.isValid(base));
    for (const [field, bad] of [
      ['signature', 'not base64!'],
      ['signature', 'abc'],
      ['token', 'AQID'],
      ['amount', '1.005'],
      ['amount', 1.5],
      ['amount', '1e3'],
      ['rate', '99999.0'],
    ] as const) {
      assert.equal(type.isValid({ ...base, [field]: bad }), false, `${field} = ${String(bad)}`);
      assert.match(formatMismatch(avro(PAYMENT), { ...base, [field]: bad }) ?? '', new RegExp(field));
    }
    assert.equal(formatMismatch(avro(PAYMENT), base), undefined);
  });

  it('resolves a writer into a reader: a field added with a default, a string read as bytes, decimals of one scale', () => {
    const writer = avroType({
      type: 'record',
      name: 'Payment',
      fields: [
        { name: 'note', type: 'string' },
        { name: 'amount', type: decimal(2) },
      ],
    });
    const reader = avroType({
      type: 'record',
      name: 'Payment',
      fields: [
        { name: 'note', type: 'bytes' },
        { name: 'amount', type: decimal(2) },
        { name: 'token', type: { type: 'fixed', name: 'Token', size: 2 }, default: '\u0000\u0001' },
      ],
    });
    const bytes = writer.toBuffer({ note: 'hi', amount: '7.10' });
    assert.deepEqual(
      { ...(reader.fromBuffer(bytes, reader.createResolver(writer)) as object) },
      { note: Buffer.from('hi').toString('base64'), amount: '7.10', token: 'AAE=' },
    );
    // Another scale is another number: refused, not silently rescaled.
    assert.throws(() => avroType(decimal(3)).createResolver(avroType(decimal(2))));
  });

  it('ignores a decimal on a type other than bytes or fixed, as the Avro spec says: an int stays an int', () => {
    const schema = {
      type: 'record',
      name: 'Count',
      fields: [
        { name: 'n', type: { type: 'int', logicalType: 'decimal', precision: 4, scale: 0 } },
        { name: 'big', type: { type: 'long', logicalType: 'decimal', precision: 18, scale: 2 } },
      ],
    };
    const t = avroType(schema);
    const value = { n: 5, big: 1234 };
    assert.ok(t.isValid(value));
    assert.deepEqual({ ...t.fromBuffer(avsc.Type.forSchema(schema as avsc.Schema).toBuffer(value)) }, value);
    assert.equal(formatMismatch(avro(schema), value), undefined);
    assert.ok(!t.isValid({ n: '5', big: 1234 }));
  });
});
