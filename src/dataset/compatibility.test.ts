import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import {
  COMPATIBILITY_MODES,
  type CompatibilityMode,
  checkCompatibility,
  compareVersions,
  formatIncompatibility,
  satisfies,
} from './compatibility.js';
import type { JsonSchema } from './schema.js';
import { SUBSET_RULES, type SubsetRule, schemaViolations } from './schema-subset.js';

type Props = Record<string, JsonSchema | boolean>;
/** An open content model (JSON Schema's default, and TypeBox's). */
const open = (properties: Props, required: string[] = [], extra: JsonSchema = {}): JsonSchema => ({
  type: 'object',
  properties,
  required,
  ...extra,
});
/** A closed content model: no undeclared properties. */
const closed = (properties: Props, required: string[] = []): JsonSchema =>
  open(properties, required, { additionalProperties: false });
const str: JsonSchema = { type: 'string' };
const int: JsonSchema = { type: 'integer' };
const num: JsonSchema = { type: 'number' };
const field = (schema: JsonSchema, more: Props = {}, required: string[] = []): JsonSchema =>
  closed({ id: str, x: schema, ...more }, ['id', ...required]);

interface Row {
  name: string;
  old: JsonSchema;
  next: JsonSchema;
  /** Rules that break readers on `next` reading records of `old` (empty: backward compatible). */
  backward: SubsetRule[];
  /** Rules that break readers on `old` reading records of `next` (empty: forward compatible). */
  forward: SubsetRule[];
  /** Where the first incompatibility is, when there is one. */
  at?: string;
}

const ROWS: Row[] = [
  // Properties under closed and open content models.
  {
    name: 'add an optional property, closed',
    old: closed({ a: str }),
    next: closed({ a: str, b: int }),
    backward: [],
    forward: ['property-not-accepted'],
    at: '$.b',
  },
  {
    name: 'add an optional property, open',
    old: open({ a: str }),
    next: open({ a: str, b: int }),
    backward: ['property-added-to-open-model'],
    forward: [],
    at: '$.b',
  },
  {
    name: 'add an unconstrained optional property, open',
    old: open({ a: str }),
    next: open({ a: str, b: { description: 'anything' } }),
    backward: [],
    forward: [],
  },
  {
    name: 'remove an optional property, closed',
    old: closed({ a: str, b: int }),
    next: closed({ a: str }),
    backward: ['property-not-accepted'],
    forward: [],
    at: '$.b',
  },
  {
    name: 'remove an optional property, open',
    old: open({ a: str, b: int }),
    next: open({ a: str }),
    backward: [],
    forward: ['property-added-to-open-model'],
    at: '$.b',
  },
  {
    name: 'add a required property, closed',
    old: closed({ a: str }),
    next: closed({ a: str, b: int }, ['b']),
    backward: ['required-added'],
    forward: ['property-not-accepted'],
    at: '$.b',
  },
  {
    name: 'add a required property, open',
    old: open({ a: str }),
    next: open({ a: str, b: int }, ['b']),
    backward: ['property-added-to-open-model', 'required-added'],
    forward: [],
    at: '$.b',
  },
  {
    name: 'remove a required property, closed',
    old: closed({ a: str, b: int }, ['b']),
    next: closed({ a: str }),
    backward: ['property-not-accepted'],
    forward: ['required-added'],
    at: '$.b',
  },
  {
    name: 'optional → required',
    old: open({ a: str, b: int }),
    next: open({ a: str, b: int }, ['b']),
    backward: ['required-added'],
    forward: [],
    at: '$.b',
  },
  {
    name: 'required → optional',
    old: open({ a: str, b: int }, ['b']),
    next: open({ a: str, b: int }),
    backward: [],
    forward: ['required-added'],
    at: '$.b',
  },
  {
    name: 'open → closed',
    old: open({ a: str }),
    next: closed({ a: str }),
    backward: ['content-model-closed'],
    forward: [],
    at: '$.*',
  },
  {
    name: 'closed → open',
    old: closed({ a: str }),
    next: open({ a: str }),
    backward: [],
    forward: ['content-model-closed'],
    at: '$.*',
  },
  {
    name: 'partially open: a property added with the type of additionalProperties',
    old: open({ a: str }, [], { additionalProperties: str }),
    next: open({ a: str, b: str }, [], { additionalProperties: str }),
    backward: [],
    forward: [],
  },
  {
    name: 'partially open with a union (Confluent #2671): add and remove that property',
    old: open({ a: str }, [], { additionalProperties: { anyOf: [str, int] } }),
    next: open({ a: str, b: { anyOf: [str, int] } }, [], { additionalProperties: { anyOf: [str, int] } }),
    backward: [],
    forward: [],
  },
  {
    name: 'partially open: a property added narrower than additionalProperties',
    old: open({ a: str }, [], { additionalProperties: { type: ['string', 'integer'] } }),
    next: open({ a: str, b: str }, [], { additionalProperties: { type: ['string', 'integer'] } }),
    backward: ['type-narrowed'],
    forward: [],
    at: '$.b',
  },
  {
    name: 'partially open: additionalProperties narrowed',
    old: open({ a: str }, [], { additionalProperties: num }),
    next: open({ a: str }, [], { additionalProperties: int }),
    backward: ['additional-properties-narrowed'],
    forward: [],
    at: '$.*',
  },
  // Types.
  {
    name: 'integer → number (widening)',
    old: field(int),
    next: field(num),
    backward: [],
    forward: ['type-narrowed'],
    at: '$.x',
  },
  { name: 'number → integer (narrowing)', old: field(num), next: field(int), backward: ['type-narrowed'], forward: [] },
  {
    name: 'string → string | null (type list)',
    old: field(str),
    next: field({ type: ['string', 'null'] }),
    backward: [],
    forward: ['type-narrowed'],
  },
  {
    name: 'string → anyOf [string, null] (TypeBox Union)',
    old: field(Type.String() as JsonSchema),
    next: field(Type.Union([Type.String(), Type.Null()]) as unknown as JsonSchema),
    backward: [],
    forward: ['type-narrowed'],
  },
  {
    name: 'anyOf [string, null] → string',
    old: field({ anyOf: [str, { type: 'null' }] }),
    next: field(str),
    backward: ['type-narrowed'],
    forward: [],
  },
  {
    name: 'string → number',
    old: field(str),
    next: field(num),
    backward: ['type-narrowed'],
    forward: ['type-narrowed'],
  },
  // Enums and constants.
  {
    name: 'enum value added',
    old: field({ enum: ['a', 'b'] }),
    next: field({ enum: ['a', 'b', 'c'] }),
    backward: [],
    forward: ['enum-narrowed'],
    at: '$.x',
  },
  {
    name: 'enum value removed',
    old: field({ enum: ['a', 'b', 'c'] }),
    next: field({ enum: ['a', 'b'] }),
    backward: ['enum-narrowed'],
    forward: [],
  },
  {
    name: 'literal union (TypeBox) ↔ the same enum',
    old: field(Type.Union([Type.Literal('EUR'), Type.Literal('USD')]) as unknown as JsonSchema),
    next: field({ type: 'string', enum: ['USD', 'EUR'] }),
    backward: [],
    forward: [],
  },
  {
    name: 'literal union gains a currency',
    old: field(Type.Union([Type.Literal('EUR'), Type.Literal('USD')]) as unknown as JsonSchema),
    next: field(Type.Union([Type.Literal('EUR'), Type.Literal('USD'), Type.Literal('GBP')]) as unknown as JsonSchema),
    backward: [],
    forward: ['enum-narrowed'],
  },
  {
    name: 'const changed',
    old: field({ const: 'v1' }),
    next: field({ const: 'v2' }),
    backward: ['const-changed'],
    forward: ['const-changed'],
  },
  {
    name: 'enum added to a free string',
    old: field(str),
    next: field({ type: 'string', enum: ['a'] }),
    backward: ['enum-added'],
    forward: [],
  },
  {
    name: 'boolean → const true',
    old: field({ type: 'boolean' }),
    next: field({ const: true }),
    backward: ['enum-narrowed'],
    forward: [],
  },
  // Numeric bounds.
  {
    name: 'minimum raised',
    old: field({ type: 'number', minimum: 0 }),
    next: field({ type: 'number', minimum: 10 }),
    backward: ['range-narrowed'],
    forward: [],
  },
  {
    name: 'maximum → exclusiveMaximum at the same value',
    old: field({ type: 'number', maximum: 100 }),
    next: field({ type: 'number', exclusiveMaximum: 100 }),
    backward: ['range-narrowed'],
    forward: [],
  },
  {
    name: 'integer: exclusiveMinimum 0 ≡ minimum 1',
    old: field({ type: 'integer', exclusiveMinimum: 0 }),
    next: field({ type: 'integer', minimum: 1 }),
    backward: [],
    forward: [],
  },
  {
    name: 'multipleOf 0.01 → 0.02',
    old: field({ type: 'number', multipleOf: 0.01 }),
    next: field({ type: 'number', multipleOf: 0.02 }),
    backward: ['multiple-of-changed'],
    forward: [],
  },
  // Strings.
  {
    name: 'maxLength lowered',
    old: field({ type: 'string', maxLength: 50 }),
    next: field({ type: 'string', maxLength: 20 }),
    backward: ['length-narrowed'],
    forward: [],
  },
  {
    name: 'minLength added',
    old: field(str),
    next: field({ type: 'string', minLength: 1 }),
    backward: ['length-narrowed'],
    forward: [],
  },
  {
    name: 'format added',
    old: field(str),
    next: field({ type: 'string', format: 'date-time' }),
    backward: ['format-changed'],
    forward: [],
  },
  {
    name: 'format removed',
    old: field({ type: 'string', format: 'email' }),
    next: field(str),
    backward: [],
    forward: ['format-changed'],
  },
  {
    name: 'pattern changed',
    old: field({ type: 'string', pattern: '^A' }),
    next: field({ type: 'string', pattern: '^B' }),
    backward: ['pattern-changed'],
    forward: ['pattern-changed'],
  },
  // Nested objects.
  {
    name: 'nested: a required property added',
    old: field(closed({ id: str })),
    next: field(closed({ id: str, tier: str }, ['tier'])),
    backward: ['required-added'],
    forward: ['property-not-accepted'],
    at: '$.x.tier',
  },
  {
    name: 'deeply nested: a type narrowed',
    old: field(open({ address: open({ zip: num }) })),
    next: field(open({ address: open({ zip: int }) })),
    backward: ['type-narrowed'],
    forward: [],
    at: '$.x.address.zip',
  },
  // Arrays.
  {
    name: 'array items: free strings → an enum',
    old: field({ type: 'array', items: str }),
    next: field({ type: 'array', items: { type: 'string', enum: ['a', 'b'] } }),
    backward: ['enum-added'],
    forward: [],
    at: '$.x[*]',
  },
  {
    name: 'array of objects: a required property added',
    old: field({ type: 'array', items: closed({ sku: str }) }),
    next: field({ type: 'array', items: closed({ sku: str, qty: int }, ['qty']) }),
    backward: ['required-added'],
    forward: ['property-not-accepted'],
    at: '$.x[*].qty',
  },
  {
    name: 'maxItems lowered',
    old: field({ type: 'array', items: str, maxItems: 10 }),
    next: field({ type: 'array', items: str, maxItems: 5 }),
    backward: ['item-count-narrowed'],
    forward: [],
  },
  {
    name: 'uniqueItems added',
    old: field({ type: 'array', items: str }),
    next: field({ type: 'array', items: str, uniqueItems: true }),
    backward: ['unique-items-added'],
    forward: [],
  },
  {
    name: 'tuple: an item appended',
    old: field({ type: 'array', prefixItems: [str, num], items: false }),
    next: field({ type: 'array', prefixItems: [str, num, { type: 'boolean' }], items: false }),
    backward: [],
    forward: ['tuple-changed'],
    at: '$.x[2]',
  },
  // Unions.
  {
    name: 'union: a branch removed',
    old: field({ anyOf: [str, num] }),
    next: field({ anyOf: [str] }),
    backward: ['union-narrowed'],
    forward: [],
  },
  {
    name: 'tagged union: a variant added',
    old: field({
      anyOf: [closed({ kind: { const: 'a' }, n: num }, ['kind']), closed({ kind: { const: 'b' } }, ['kind'])],
    }),
    next: field({
      anyOf: [
        closed({ kind: { const: 'a' }, n: num }, ['kind']),
        closed({ kind: { const: 'b' } }, ['kind']),
        closed({ kind: { const: 'c' } }, ['kind']),
      ],
    }),
    backward: [],
    forward: ['union-narrowed'],
  },
  {
    name: 'type list → union of the same types',
    old: field({ type: ['string', 'number'] }),
    next: field({ oneOf: [str, num] }),
    backward: [],
    forward: [],
  },
  // Composition, references, opaque keywords, annotations.
  {
    name: 'allOf writer vs flat reader',
    old: { allOf: [open({ a: str }, ['a']), open({ b: int })] },
    next: open({ a: str, b: num }, ['a']),
    backward: [],
    forward: ['type-narrowed'],
  },
  {
    name: '$ref to definitions: the referenced type narrowed',
    old: { ...closed({ amount: { $ref: '#/definitions/money' } }), definitions: { money: num } },
    next: { ...closed({ amount: { $ref: '#/definitions/money' } }), definitions: { money: int } },
    backward: ['type-narrowed'],
    forward: [],
    at: '$.amount',
  },
  {
    name: 'not added (cannot be decided)',
    old: field(str),
    next: field({ type: 'string', not: { const: '' } }),
    backward: ['unverifiable'],
    forward: [],
  },
  {
    name: 'minProperties added',
    old: field(open({})),
    next: field(open({}, [], { minProperties: 1 })),
    backward: ['property-count-narrowed'],
    forward: [],
  },
  {
    name: 'a property forbidden (false)',
    old: open({ a: str }),
    next: open({ a: false }),
    backward: ['schema-closed'],
    forward: [],
    at: '$.a',
  },
  {
    name: 'only descriptions and titles changed',
    old: field({ type: 'string', description: 'old' }),
    next: field({ type: 'string', description: 'new', title: 'X' }),
    backward: [],
    forward: [],
  },
];

const rules = (list: { rule: SubsetRule }[]): SubsetRule[] => [...new Set(list.map((v) => v.rule))].sort();

describe('JSON Schema compatibility: one row per rule, both directions, every mode', () => {
  it(`has at least 40 schema pairs and covers every rule (${ROWS.length} rows)`, () => {
    assert.ok(ROWS.length >= 40);
    const seen = new Set(ROWS.flatMap((r) => [...r.backward, ...r.forward]));
    assert.deepEqual(
      SUBSET_RULES.filter((r) => !seen.has(r)),
      [],
      'every rule has a row that expects it',
    );
  });

  for (const row of ROWS) {
    it(row.name, () => {
      const backward = schemaViolations(row.old, row.next);
      const forward = schemaViolations(row.next, row.old);
      assert.deepEqual(rules(backward), [...row.backward].sort(), `backward: ${JSON.stringify(backward)}`);
      assert.deepEqual(rules(forward), [...row.forward].sort(), `forward: ${JSON.stringify(forward)}`);
      if (row.at !== undefined) assert.equal([...backward, ...forward][0]?.path, row.at);

      const expected: Record<CompatibilityMode, boolean> = {
        backward: row.backward.length === 0,
        'backward-transitive': row.backward.length === 0,
        forward: row.forward.length === 0,
        'forward-transitive': row.forward.length === 0,
        full: row.backward.length === 0 && row.forward.length === 0,
        'full-transitive': row.backward.length === 0 && row.forward.length === 0,
        none: true,
      };
      for (const mode of COMPATIBILITY_MODES) {
        const report = checkCompatibility(mode, [{ version: '1.0.0', schema: row.old }], {
          version: '1.1.0',
          schema: row.next,
        });
        assert.equal(report.compatible, expected[mode], `${mode}: ${JSON.stringify(report.incompatibilities)}`);
        for (const i of report.incompatibilities) {
          // Each report names the path, what changed between the versions, whom it breaks and a fix.
          assert.ok(
            i.change.startsWith(`${i.path}: `) && i.change.includes('(1.0.0) →') && i.change.endsWith('(1.1.0)'),
          );
          assert.match(
            i.breaks,
            i.direction === 'backward'
              ? /readers on 1\.1\.0 reading records written by 1\.0\.0/
              : /readers still on 1\.0\.0 reading records written by 1\.1\.0/,
          );
          assert.ok(i.fix.length > 20 && i.fix.includes('major'), i.fix);
        }
      }
    });
  }
});

describe('transitive modes', () => {
  // v2 was registered under mode none (it dropped b): v3 fits v2 but not v1.
  const v1 = { version: '1.0.0', schema: closed({ a: str, b: int }, ['a']) };
  const v2 = { version: '1.1.0', schema: closed({ a: str }, ['a']) };
  const v3 = { version: '1.2.0', schema: closed({ a: str, c: str }, ['a']) };
  const expected: Record<CompatibilityMode, boolean> = {
    backward: true,
    'backward-transitive': false,
    forward: false,
    'forward-transitive': false,
    full: false,
    'full-transitive': false,
    none: true,
  };
  for (const mode of COMPATIBILITY_MODES) {
    it(`${mode}: ${expected[mode] ? 'compatible' : 'incompatible'}`, () => {
      const report = checkCompatibility(mode, [v2, v1], v3);
      assert.equal(report.compatible, expected[mode], JSON.stringify(report.incompatibilities));
      const against = new Set(report.checked.map((c) => c.version));
      if (mode === 'none') assert.equal(against.size, 0);
      else assert.deepEqual([...against].sort(), mode.endsWith('transitive') ? ['1.0.0', '1.1.0'] : ['1.1.0']);
    });
  }
  it('backward-transitive names the version it breaks against', () => {
    const report = checkCompatibility('backward-transitive', [v1, v2], v3);
    assert.deepEqual(
      report.incompatibilities.map((i) => [i.path, i.rule, i.writer, i.reader]),
      [['$.b', 'property-not-accepted', '1.0.0', '1.2.0']],
    );
    const text = report.incompatibilities.map(formatIncompatibility).join('\n');
    assert.match(text, /\$\.b: declares 'b' \(1\.0\.0\) → closed content model without it \(1\.2\.0\)/);
    assert.match(text, /fix: {4}declare \$\.b again/);
  });
});

describe('versions', () => {
  it('reads reader ranges', () => {
    const cases: Array<[string, string, boolean | undefined]> = [
      ['1.4.0', '^1.2', true],
      ['1.2.0', '^1.2', true],
      ['1.1.9', '^1.2', false],
      ['2.0.0', '^1.2', false],
      ['1.2.7', '~1.2', true],
      ['1.3.0', '~1.2', false],
      ['3.1.0', '>=1.2.0', true],
      ['1.9.0', '1.x', true],
      ['1.9.0', '1', true],
      ['1.2.3', '1.2.3', true],
      ['1.2.4', '1.2.3', false],
      ['1.2.4', 'latest', undefined],
    ];
    for (const [v, r, want] of cases) assert.equal(satisfies(v, r), want, `${v} in ${r}`);
  });

  it('orders semantic versions numerically, a prerelease before its release', () => {
    const sorted = ['1.10.0', '1.2.0', '1.2.0-rc.1', '0.9.9', '2.0.0'].sort(compareVersions);
    assert.deepEqual(sorted, ['0.9.9', '1.2.0-rc.1', '1.2.0', '1.10.0', '2.0.0']);
  });
});
