import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { compileSchema, forValidation, type JsonSchema } from './schema.js';

const plain = new Ajv({ strict: false });

const SCHEMAS: Record<string, JsonSchema> = {
  'union of string literals (TypeBox)': {
    anyOf: [
      { const: 'EUR', type: 'string' },
      { const: 'USD', type: 'string' },
    ],
  },
  'mixed constants, objects among them': {
    anyOf: [{ const: 1 }, { const: null }, { const: { a: [1, 2] } }, { const: 'x' }],
  },
  'integer type on a fraction (a branch nothing matches)': { anyOf: [{ const: 1.5, type: 'integer' }, { const: 2 }] },
  'a branch with more than a constant': { anyOf: [{ const: 'a' }, { type: 'string', minLength: 3 }] },
  'nested in properties and items, beside a default that looks like a schema': {
    type: 'object',
    default: { anyOf: [{ const: 'kept' }] },
    properties: {
      tier: { anyOf: [{ const: 'standard' }, { const: 'vip' }] },
      tags: { type: 'array', items: { anyOf: [{ const: 'a' }, { const: 'b' }] } },
    },
  },
};
const VALUES: unknown[] = [
  'EUR',
  'USD',
  'GBP',
  'eur',
  1,
  1.5,
  2,
  '2',
  null,
  'x',
  'abc',
  { a: [1, 2] },
  { a: [2, 1] },
  [],
  {},
  { tier: 'vip' },
  { tier: 'gold' },
  { tags: ['a', 'b'] },
  { tags: ['a', 'c'] },
  { tier: 'standard', tags: [] },
];

describe('schemas as compiled', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    it(`accept exactly what the schema does: ${name}`, () => {
      const original = plain.compile(schema);
      const compiled = compileSchema(schema);
      for (const v of VALUES) assert.equal(compiled(v), original(v), `${JSON.stringify(v)}`);
    });
  }

  it('turn an anyOf of constants into an enum, and leave everything else as it is', () => {
    assert.deepEqual(forValidation(SCHEMAS['union of string literals (TypeBox)']), { enum: ['EUR', 'USD'] });
    const nested = forValidation(
      SCHEMAS['nested in properties and items, beside a default that looks like a schema'],
    ) as {
      default: unknown;
      properties: { tier: unknown; tags: { items: unknown } };
    };
    assert.deepEqual(nested.properties.tier, { enum: ['standard', 'vip'] });
    assert.deepEqual(nested.properties.tags.items, { enum: ['a', 'b'] });
    assert.deepEqual(nested.default, { anyOf: [{ const: 'kept' }] }, 'data is not rewritten');
    for (const name of [
      'integer type on a fraction (a branch nothing matches)',
      'a branch with more than a constant',
    ]) {
      assert.deepEqual(forValidation(SCHEMAS[name]), SCHEMAS[name], name);
    }
  });
});
