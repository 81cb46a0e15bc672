import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { enrichedOrders, orders } from '../../examples/orders/datasets.js';
import { codePoints } from './fast-check.js';
import { generateValue, seededRandom } from './generate.js';
import { compileFastSchemaCheck, compileSchema, type JsonSchema, toCanonicalSchema } from './schema.js';

// The fast check must give the validator's answer for every value: a record it wrongly accepts would
// pass unchecked, one it wrongly refuses would cost a second check (the validator decides then).
// Here the two are compared on values generated from each schema and then mutated in every way a
// record can go wrong.

const SCHEMAS: Record<string, JsonSchema> = {
  orders: orders.schema,
  enrichedOrders: enrichedOrders.schema,
  flat: toCanonicalSchema(
    Type.Object({
      id: Type.String(),
      amount: Type.Number(),
      count: Type.Integer(),
      ok: Type.Boolean(),
      note: Type.Optional(Type.String()),
      gone: Type.Null(),
    }),
  ),
  limits: toCanonicalSchema(
    Type.Object(
      {
        name: Type.String({ minLength: 2, maxLength: 4 }),
        code: Type.String({ pattern: '^[A-Z]{2}\\d$' }),
        score: Type.Number({ minimum: -1.5, exclusiveMaximum: 10 }),
        rank: Type.Integer({ exclusiveMinimum: 0, maximum: 3 }),
        tags: Type.Array(Type.String({ maxLength: 1 }), { minItems: 1, maxItems: 3 }),
        when: Type.String({ format: 'date-time' }),
        mail: Type.Optional(Type.String({ format: 'email' })),
        day: Type.Optional(Type.String({ format: 'date' })),
      },
      { additionalProperties: false },
    ),
  ),
  nested: toCanonicalSchema(
    Type.Object({
      id: Type.String(),
      customer: Type.Object(
        { name: Type.String(), vip: Type.Optional(Type.Boolean()) },
        { additionalProperties: false },
      ),
      lines: Type.Array(Type.Object({ sku: Type.String(), qty: Type.Integer({ minimum: 1 }) })),
      kind: Type.Union([Type.Literal('a'), Type.Literal(1), Type.Literal(true), Type.Null()]),
      either: Type.Union([Type.String({ minLength: 3 }), Type.Integer(), Type.Array(Type.Number())]),
      both: Type.Intersect([Type.Object({ x: Type.Number() }), Type.Object({ y: Type.Optional(Type.String()) })]),
      multi: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
      fixed: Type.Unsafe<'v1'>({ const: 'v1' }),
      any: Type.Unsafe<unknown>({}),
    }),
  ),
};

/** Valid records of the schemas the generator cannot satisfy alone (patterns, exclusive bounds, intersections). */
const VALID: Record<string, unknown[]> = {
  limits: [
    { name: 'ab', code: 'AB1', score: -1.5, rank: 1, tags: ['a'], when: '2026-11-27T12:00:00Z' },
    {
      name: '😀😀😀😀',
      code: 'ZZ9',
      score: 9.99,
      rank: 3,
      tags: ['😀', 'b', ''],
      when: '2024-02-29T23:59:59+05:30',
      mail: 'a@b.co',
      day: '2026-01-31',
    },
  ],
  nested: [
    {
      id: 'n1',
      customer: { name: 'A' },
      lines: [],
      kind: 'a',
      either: 'abc',
      both: { x: 1 },
      multi: null,
      fixed: 'v1',
      any: [1],
    },
    {
      id: 'n2',
      customer: { name: 'B', vip: true },
      lines: [{ sku: 's', qty: 2 }],
      kind: null,
      either: [1.5],
      both: { x: 0, y: 'y' },
      multi: 'm',
      fixed: 'v1',
    },
    {
      id: 'n3',
      customer: { name: 'C', vip: false },
      lines: [{ sku: 's', qty: 1, extra: 1 }],
      kind: true,
      either: -3,
      both: { x: -1 },
      multi: '',
      fixed: 'v1',
      any: null,
    },
  ],
};

const ODD_VALUES: unknown[] = [
  undefined,
  null,
  0,
  -0,
  1,
  -1,
  1.5,
  3,
  10,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  '',
  'a',
  'ab',
  'abcd',
  'abcde',
  'AB1',
  '😀',
  '😀😀',
  'a😀',
  '\ud83d',
  '\ude00\ud83d',
  'x\ud83dy',
  '2026-11-27T12:00:00Z',
  '2026-02-30T12:00:00Z',
  '2026-11-27',
  'someone@example.com',
  'v1',
  'EUR',
  'vip',
  true,
  false,
  [],
  [''],
  ['a', 'b', 'c', 'd'],
  [1, 2],
  {},
  { name: 'x' },
  { x: 1 },
];

function mutate(value: unknown, random: () => number, depth = 0): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  if (random() < 0.15) return pick(ODD_VALUES);
  if (Array.isArray(value)) {
    const out = value.map((v) => (random() < 0.3 ? mutate(v, random, depth + 1) : v));
    if (random() < 0.2) out.push(pick(ODD_VALUES));
    if (random() < 0.2) out.pop();
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(out);
    for (const k of keys) {
      const r = random();
      if (r < 0.08) delete out[k];
      else if (r < 0.3) out[k] = mutate(out[k], random, depth + 1);
    }
    if (random() < 0.1) out[pick(['extra', 'id', 'name', 'x', 'y', 'tags'])] = pick(ODD_VALUES);
    return out;
  }
  if (typeof value === 'string' && random() < 0.5) {
    const s = value as string;
    return random() < 0.5 ? s.slice(0, Math.floor(random() * (s.length + 1))) : s + pick(['😀', 'a', '\ud83d', ' ']);
  }
  return value;
}

describe('the fast record check', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    it(`gives the validator's answer on 20,000 generated and mutated values: ${name}`, () => {
      const fast = compileFastSchemaCheck(schema);
      assert.ok(fast, `${name} should get a fast check`);
      const validate = compileSchema(schema);
      const random = seededRandom(42);
      let accepted = 0;
      let refused = 0;
      for (let i = 0; i < 20_000; i++) {
        const valid = VALID[name];
        const base =
          valid !== undefined && i % 2 === 0
            ? (valid[i % valid.length] as unknown)
            : generateValue(schema, random, { cardinality: 50 });
        const value = i % 4 === 0 ? base : mutate(base, random);
        const expected = validate(value) as boolean;
        assert.equal(fast(value), expected, `${name}: ${JSON.stringify(value)} (the validator says ${expected})`);
        if (expected) accepted++;
        else refused++;
      }
      // Both answers occur often: the comparison means something either way.
      assert.ok(accepted > 2000 && refused > 2000, `${name}: ${accepted} accepted, ${refused} refused`);
    });
  }

  it('gives the validator answer on objects that each have a hidden class of their own (spread copies)', () => {
    const fast = compileFastSchemaCheck(SCHEMAS.flat as JsonSchema);
    assert.ok(fast);
    const base = { id: 'a', amount: 1.5, count: 2, ok: true, gone: null };
    for (let i = 0; i < 1000; i++) {
      const good = { ...base, count: i };
      const bad = { ...base, count: i + 0.5 };
      assert.equal(fast(good), true);
      assert.equal(fast(bad), false);
    }
  });

  it('is not made for schemas with keywords outside its set (the validator checks every record)', () => {
    for (const schema of [
      { type: 'object', properties: { a: { $ref: '#/definitions/x' } }, definitions: { x: { type: 'string' } } },
      { type: 'object', patternProperties: { '^a': { type: 'string' } } },
      { type: 'object', additionalProperties: { type: 'string' } },
      { oneOf: [{ type: 'string' }, { type: 'number' }] },
      { not: { type: 'string' } },
      { type: 'string', format: 'no-such-format' },
      { enum: [{ a: 1 }] },
      { type: 'number', multipleOf: 2 },
      '{"type":"object","properties":{"__proto__":{"type":"string"}}}',
    ] as Array<JsonSchema | string>) {
      const json = typeof schema === 'string' ? schema : JSON.stringify(schema);
      assert.equal(compileFastSchemaCheck(JSON.parse(json)), undefined, json);
    }
  });

  it('counts code points as the validator does (a surrogate pair is one)', () => {
    for (const [s, n] of [
      ['', 0],
      ['abc', 3],
      ['😀', 1],
      ['a😀b', 3],
      ['\ud83d', 1],
      ['\ud83d\ud83d', 2],
      ['\ude00\ud83d', 2],
      ['\ud83d\ude00\ude00', 2],
    ] as const) {
      assert.equal(codePoints(s), n, JSON.stringify(s));
    }
  });
});
