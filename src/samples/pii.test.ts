import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset, isSlipwayError } from 'slipway';
import { orders } from '../../examples/orders/datasets.js';
import { produceOrders, type TempLog, tempLog } from '../../test/helpers/orders.js';
import { captureSample } from './capture.js';
import { defineMasking } from './masking.js';
import { detectPii, luhnValid, scanForPii } from './pii.js';

describe('PII detection', () => {
  it('recognises emails, phone numbers and card numbers', () => {
    for (const v of ['jane@example.org', 'Write to J.Doe+shop@mail.co.uk today'])
      assert.deepEqual(detectPii(v), ['email'], v);
    for (const v of [
      '+442079460958',
      '+44 20 7946 0958',
      '(415) 555-0100',
      '415-555-0100',
      '415.555.0100',
      '0044 20 7946 0958',
      'call +1 415 555 0100 now',
    ])
      assert.deepEqual(detectPii(v), ['phone'], v);
    for (const v of [
      '4111111111111111',
      '4111 1111 1111 1111',
      '5500-0000-0000-0004',
      'card 378282246310005 on file',
      4111111111111111,
    ])
      assert.deepEqual(detectPii(v), ['card'], String(v));
  });

  it('leaves ordinary values alone', () => {
    for (const v of [
      '2026-01-01T00:00:01.000Z',
      '2026-01-01',
      '12/31/2026',
      '10.20.30.40',
      'o-1234567',
      'c42',
      '5b1e4f2a-8d3c-4e7b-9a61-2f0c3d4e5f60',
      '4111111111111112', // fails Luhn
      'order-2026-000000003', // its 13 digits pass Luhn, but that is an id, not a card
      '1735689600000', // a timestamp in ms
      'EUR',
      '123.45',
      1735689600000,
      499.99,
    ]) {
      assert.deepEqual(detectPii(v), [], String(v));
    }
    assert.ok(luhnValid('79927398713') && !luhnValid('79927398710'));
  });

  it('reports field paths (nested too) with counts, never values, and skips declared fields', () => {
    const records = [
      { id: 'a', contact: { email: 'x@y.test', phone: '+14155550100' }, tags: ['vip', 'z@w.test'] },
      { id: 'b', contact: { email: 'q@r.test' }, tags: [] },
    ];
    const findings = scanForPii(records);
    assert.deepEqual(
      findings.map((f) => [f.path, f.kind, f.count, f.examined]),
      [
        ['contact.email', 'email', 2, 2],
        ['contact.phone', 'phone', 1, 1],
        ['tags[]', 'email', 1, 2],
      ],
    );
    assert.deepEqual(scanForPii(records, { isDeclared: (p) => p === 'contact' || p === 'tags[]' }), []);
  });
});

describe('capture stops on unmasked personal data', () => {
  let t: TempLog;
  // An open schema: producers can add fields the dataset does not declare.
  const events = defineDataset({
    name: 'events',
    version: '1.0.0',
    key: 'id',
    partitions: 2,
    schema: Type.Object({ id: Type.String(), type: Type.String(), amount: Type.Number() }),
  });
  before(async () => {
    t = await tempLog('slipway-pii-');
    await t.log.createTopic(events.topic, { partitions: 2 });
    const records = Array.from({ length: 500 }, (_, i) => {
      const value: Record<string, unknown> = { id: `e-${i}`, type: i % 2 === 0 ? 'view' : 'buy', amount: i };
      // A new field appears in later records, holding email addresses.
      if (i >= 300) value.contact = `shopper.${i}@real-mail.test`;
      return { partition: i % 2, key: `e-${i}`, value: JSON.stringify(value) };
    });
    await t.log.append(events.topic, records);
    await produceOrders(t.log, 0, 200);
  });
  after(async () => t.cleanup());

  it('stops with SLIPWAY_PII_UNMASKED naming a new field that holds emails, without printing them', async () => {
    await assert.rejects(captureSample({ log: t.log, dataset: events, size: 200 }), (err) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_PII_UNMASKED'));
      assert.match(err.message, /'contact': \d+ of \d+ values look like email addresses/);
      assert.match(err.message, /allowUnmasked/);
      assert.doesNotMatch(err.message, /real-mail/);
      assert.deepEqual(
        (err.details.findings as Array<{ path: string }>).map((f) => f.path),
        ['contact'],
      );
      return true;
    });
  });

  it('captures once the field is masked or declared', async () => {
    const masked = await captureSample({
      log: t.log,
      dataset: events,
      size: 200,
      masking: defineMasking({ dataset: events, rules: { contact: 'drop' } }),
    });
    assert.ok(masked.records.every((r) => !('contact' in (r as object))));
    const allowed = await captureSample({
      log: t.log,
      dataset: events,
      size: 200,
      masking: defineMasking({ dataset: events, rules: {}, allowUnmasked: ['contact'] }),
    });
    assert.ok(allowed.records.some((r) => 'contact' in (r as object)));
  });

  it('treats a schema field declared format "email" as personal even when no value was sampled', async () => {
    // The helper's orders carry no email at all, but the schema says the field holds email addresses.
    await assert.rejects(
      captureSample({ log: t.log, dataset: orders, size: 50 }),
      (err) => isSlipwayError(err, 'SLIPWAY_PII_UNMASKED') && /'email' is declared format "email"/.test(err.message),
    );
  });
});
