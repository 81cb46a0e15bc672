import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset, isSlipwayError, partitionFor } from 'slipway';
import { orders } from '../../examples/orders/datasets.js';
import { ordersMasking } from '../../examples/orders/masking.js';
import { makeOrder, type TempLog, tempLog } from '../../test/helpers/orders.js';
import { captureSample } from './capture.js';
import { createMasker, defineMasking, MASK_KEY_ENV, maskKeyId } from './masking.js';
import { writeSample } from './store.js';

const KEY = 'test-key-0123456789abcdef';
const OTHER_KEY = 'another-key-0123456789abcdef';

/** Orders whose customer ids and emails are distinctive, so a leak shows up in a plain text search. */
function personalOrder(i: number): Record<string, unknown> {
  const o: Record<string, unknown> = { ...makeOrder(i, 200) };
  const c = i % 200;
  o.customerId = `cust-${c}-secret`;
  if (i % 2 === 0) o.email = `jane.doe.${c}@real-mail.test`;
  return o;
}

async function withEnv<T>(name: string, value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const prev = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return await fn();
  } finally {
    if (prev === undefined) delete process.env[name];
    else process.env[name] = prev;
  }
}

describe('masking', () => {
  let t: TempLog;
  const originals = { customerIds: new Set<string>(), emails: new Set<string>() };
  before(async () => {
    t = await tempLog('slipway-masking-');
    await t.log.createTopic(orders.topic, { partitions: orders.partitions });
    const records = [];
    for (let i = 0; i < 4000; i++) {
      const o = personalOrder(i);
      originals.customerIds.add(String(o.customerId));
      if (o.email !== undefined) originals.emails.add(String(o.email));
      records.push({
        partition: partitionFor(String(o.customerId), orders.partitions),
        key: String(o.customerId),
        value: JSON.stringify(o),
      });
    }
    await t.log.append(orders.topic, records);
  });
  after(async () => t.cleanup());

  it('leaves no original value of a masked field anywhere in the written sample', async () => {
    const sample = await captureSample({
      log: t.log,
      dataset: orders,
      size: 1000,
      masking: ordersMasking,
      maskKey: KEY,
    });
    assert.equal(sample.records.length, 1000);
    const root = join(t.dir, 'samples');
    const paths = await writeSample(sample, { root });
    const text = readFileSync(paths.records, 'utf8') + readFileSync(paths.stats, 'utf8');
    assert.ok(text.includes('@example.com'), 'fake emails are written');
    for (const v of [...originals.customerIds, ...originals.emails]) {
      assert.ok(!text.includes(v), `original value leaked into the sample: ${v}`);
    }
    for (const r of sample.records) assert.ok(orders.is(r), 'masked records still match the schema');
  });

  it('gives the same fake for the same input and key, and another fake for another key', async () => {
    const a = await createMasker(ordersMasking, { key: KEY });
    const b = await createMasker(ordersMasking, { key: KEY });
    const c = await createMasker(ordersMasking, { key: OTHER_KEY });
    const input = () => ({ customerId: 'cust-7-secret', email: 'jane.doe.7@real-mail.test' });
    const ma = a.mask(input());
    assert.deepEqual(b.mask(input()), ma);
    const mc = c.mask(input());
    assert.notEqual(mc.customerId, ma.customerId);
    assert.notEqual(mc.email, ma.email);
    assert.match(ma.email, /@example\.com$/);
    assert.match(ma.customerId, /^c-[0-9a-f]{16}$/);
    assert.notEqual(maskKeyId(KEY), maskKeyId(OTHER_KEY));
  });

  it('keeps joins: one customer maps to one fake id, different customers to different ones', async () => {
    const sample = await captureSample({
      log: t.log,
      dataset: orders,
      size: 800,
      masking: ordersMasking,
      maskKey: KEY,
      seed: 9,
    });
    const fakeOf = new Map<string, string>();
    const originalOf = new Map<string, string>();
    for (const r of sample.records as Array<{ orderId: string; customerId: string }>) {
      const original = String(personalOrder(Number(r.orderId.slice(2))).customerId);
      assert.equal(fakeOf.get(original) ?? r.customerId, r.customerId);
      assert.equal(originalOf.get(r.customerId) ?? original, original);
      fakeOf.set(original, r.customerId);
      originalOf.set(r.customerId, original);
    }
    assert.ok(fakeOf.size > 100);
  });

  it('hashes with HMAC-SHA256 under the key, and applies nested, array and custom rules', async () => {
    const events = defineDataset({
      name: 'signups',
      version: '1.0.0',
      key: 'id',
      schema: Type.Object({
        id: Type.String(),
        profile: Type.Object({ phone: Type.String(), nickname: Type.String(), age: Type.Integer() }),
        contacts: Type.Array(Type.Object({ email: Type.String(), note: Type.Optional(Type.String()) })),
        notes: Type.String(),
      }),
    });
    const masking = defineMasking({
      dataset: events,
      rules: {
        id: 'hash',
        'profile.phone': { fake: 'phone' },
        'profile.nickname': (v, tools) => `nick-${tools.hmac(v).slice(0, 6)}`,
        'profile.age': 'redact',
        'contacts[].email': { fake: 'email', domain: 'example.org' },
        'contacts[].note': 'drop',
        notes: 'keep',
      },
    });
    const masker = await createMasker(masking, { key: KEY });
    const masked = masker.mask({
      id: 'u-1',
      profile: { phone: '+44 20 7946 0958', nickname: 'jd', age: 41 },
      contacts: [{ email: 'a@b.test', note: 'x' }, { email: 'c@d.test' }],
      notes: 'hello',
    });
    assert.equal(masked.id, createHmac('sha256', KEY).update('u-1').digest('hex').slice(0, 16));
    assert.notEqual(masked.profile.phone, '+44 20 7946 0958');
    assert.match(masked.profile.nickname, /^nick-[0-9a-f]{6}$/);
    assert.equal(masked.profile.age, 0);
    assert.equal(masked.contacts.length, 2);
    for (const c of masked.contacts) {
      assert.match(c.email, /@example\.org$/);
      assert.equal('note' in c, false);
    }
    assert.equal(masked.notes, 'hello');
    assert.ok(masker.isDeclared('contacts[].email') && masker.isDeclared('notes') && !masker.isDeclared('contacts'));
  });

  it('stops with SLIPWAY_MASK_KEY_MISSING, saying how to set the key, when a keyed rule has no key', async () => {
    await withEnv(MASK_KEY_ENV, undefined, async () => {
      await assert.rejects(
        captureSample({ log: t.log, dataset: orders, size: 10, masking: ordersMasking }),
        (err) => isSlipwayError(err, 'SLIPWAY_MASK_KEY_MISSING') && /SLIPWAY_MASK_KEY=/.test(err.message),
      );
    });
    await withEnv(MASK_KEY_ENV, 'short', async () => {
      await assert.rejects(createMasker(ordersMasking), (err) => isSlipwayError(err, 'SLIPWAY_MASK_KEY_MISSING'));
    });
    await withEnv(MASK_KEY_ENV, KEY, async () => {
      const m = await createMasker(ordersMasking);
      assert.equal(m.keyId, maskKeyId(KEY));
    });
  });

  it('refuses rules for unknown fields, overlapping rules, and dropping the key', () => {
    const invalid = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (err) => isSlipwayError(err, 'SLIPWAY_INVALID_DEFINITION') && pattern.test(err.message));
    invalid(
      () => defineMasking({ dataset: orders, rules: { emial: 'drop' } }),
      /'emial' is not a field of orders\.v1.*email/,
    );
    invalid(() => defineMasking({ dataset: orders, rules: { customerId: 'drop' } }), /key field 'customerId'/);
    invalid(
      () => defineMasking({ dataset: orders, rules: { email: { fake: 'nope' } as never } }),
      /unknown fake 'nope'/,
    );
    const nested = defineDataset({
      name: 'n',
      version: '1.0.0',
      key: 'id',
      schema: Type.Object({ id: Type.String(), a: Type.Object({ b: Type.String() }) }),
    });
    invalid(() => defineMasking({ dataset: nested, rules: { a: 'drop', 'a.b': 'hash' } }), /overlap/);
  });

  it('fails with SLIPWAY_VALIDATION when a rule makes records invalid', async () => {
    const masking = defineMasking({ dataset: orders, rules: { email: 'hash', customerId: 'hash' } });
    await assert.rejects(
      captureSample({ log: t.log, dataset: orders, size: 50, masking, maskKey: KEY }),
      (err) => isSlipwayError(err, 'SLIPWAY_VALIDATION') && /fake: 'email'/.test(err.message),
    );
  });
});
