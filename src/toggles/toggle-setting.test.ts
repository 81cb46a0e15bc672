import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkToggleSetting,
  compileSetting,
  defineToggle,
  isSlipwayError,
  parseToggleRule,
  type ToggleRule,
  type ToggleSetting,
  toggleBucket,
} from 'slipway';

const pricing = defineToggle({ name: 'new-pricing', kind: 'feature', variants: ['old', 'new'], default: 'old' });
const KEYS = Array.from({ length: 100_000 }, (_, i) => `customer-${i}`);

describe('toggle evaluation', () => {
  it('a share is key-sticky: raising 10 % to 50 % keeps every key that was on; measured shares within 1 % over 100,000 keys', () => {
    const at = (percent: number) => compileSetting('new-pricing', { percent }, pricing);
    const ten = at(10);
    const fifty = at(50);
    let onAt10 = 0;
    let onAt50 = 0;
    for (const k of KEYS) {
      const a = ten(k, {});
      const b = fifty(k, {});
      if (a === 'new') {
        onAt10++;
        assert.equal(b, 'new', `${k} was on at 10 % and must stay on at 50 %`);
      }
      if (b === 'new') onAt50++;
    }
    assert.ok(Math.abs(onAt10 / KEYS.length - 0.1) < 0.01, `10 %: measured ${onAt10 / KEYS.length}`);
    assert.ok(Math.abs(onAt50 / KEYS.length - 0.5) < 0.01, `50 %: measured ${onAt50 / KEYS.length}`);
    for (const p of [1, 25, 75, 99]) {
      const f = at(p);
      const n = KEYS.filter((k) => f(k, {}) === 'new').length;
      assert.ok(Math.abs(n / KEYS.length - p / 100) < 0.01, `${p} %: measured ${n / KEYS.length}`);
    }
  });

  it('the bucket depends on the toggle name and the key, and nothing else', () => {
    assert.equal(toggleBucket('a', 'k1'), toggleBucket('a', 'k1'));
    const differ = KEYS.slice(0, 1000).filter((k) => toggleBucket('a', k) !== toggleBucket('b', k)).length;
    assert.ok(differ > 950, 'two toggles split keys independently');
    assert.equal(compileSetting('x', { percent: 0 }, pricing)('k', {}), 'old');
    assert.equal(compileSetting('x', { percent: 100 }, pricing)('k', {}), 'new');
  });

  it('rules on record fields: equals, in, prefix, numeric comparisons; all must hold', () => {
    const r = (text: string) => compileSetting('t', { where: [parseToggleRule(text)] }, pricing);
    assert.equal(r('currency=EUR')('k', { currency: 'EUR' }), 'new');
    assert.equal(r('currency=EUR')('k', { currency: 'USD' }), 'old');
    assert.equal(r('currency!=EUR')('k', { currency: 'USD' }), 'new');
    assert.equal(r('country~FR|DE')('k', { country: 'DE' }), 'new');
    assert.equal(r('country~FR|DE')('k', { country: 'IT' }), 'old');
    assert.equal(r('sku^=X-')('k', { sku: 'X-1' }), 'new');
    assert.equal(r('sku^=X-')('k', { sku: 'Y-1' }), 'old');
    assert.equal(r('amount>100')('k', { amount: 100 }), 'old');
    assert.equal(r('amount>=100')('k', { amount: 100 }), 'new');
    assert.equal(r('amount<10')('k', { amount: 9.5 }), 'new');
    assert.equal(r('amount<=10')('k', { amount: 11 }), 'old');
    assert.equal(r('customer.tier=vip')('k', { customer: { tier: 'vip' } }), 'new');
    assert.equal(r('amount>5')('k', {}), 'old', 'a missing field matches no comparison');
    const both = compileSetting(
      't',
      { percent: 100, where: [parseToggleRule('currency=EUR'), parseToggleRule('amount>50')] },
      pricing,
    );
    assert.equal(both('k', { currency: 'EUR', amount: 60 }), 'new');
    assert.equal(both('k', { currency: 'EUR', amount: 40 }), 'old');
    // A share within a rule: only matching records, and of those a sticky share of keys.
    const share = compileSetting('t', { percent: 30, where: [parseToggleRule('currency=EUR')] }, pricing);
    const on = KEYS.slice(0, 20_000).filter((k) => share(k, { currency: 'EUR' }) === 'new').length;
    assert.ok(Math.abs(on / 20_000 - 0.3) < 0.02);
    assert.ok(KEYS.slice(0, 1000).every((k) => share(k, { currency: 'USD' }) === 'old'));
  });

  it('a fixed variant for everyone; an unknown variant serves the default; no setting serves the default', () => {
    assert.equal(compileSetting('t', { fixed: 'new' }, pricing)('k', {}), 'new');
    assert.equal(compileSetting('t', { fixed: 'nope' }, pricing)('k', {}), 'old');
    assert.equal(compileSetting('t', null, pricing)('k', {}), 'old');
  });

  it('every compiled form (fixed, share, one equals rule, any other rules) gives what the setting says, record by record', () => {
    // The reference: the setting read literally, one record at a time (rules must all hold, then the share).
    const field = (value: unknown, path: string): unknown =>
      path
        .split('.')
        .reduce<unknown>(
          (v, p) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[p] : undefined),
          value,
        );
    const holds = (r: ToggleRule, value: unknown): boolean => {
      const f = field(value, r.field);
      const w = r.value;
      if (r.op === 'eq') return f === w;
      if (r.op === 'neq') return f !== w;
      if (r.op === 'in') return (Array.isArray(w) ? w : [w]).includes(f as string);
      if (r.op === 'prefix') return typeof f === 'string' && f.startsWith(String(w));
      const n = f as number;
      return r.op === 'gt'
        ? n > (w as number)
        : r.op === 'gte'
          ? n >= (w as number)
          : r.op === 'lt'
            ? n < (w as number)
            : n <= (w as number);
    };
    const toggle = defineToggle({
      name: 'tiers',
      kind: 'feature',
      variants: ['basic', 'gold', 'silver'],
      default: 'basic',
    });
    const reference = (setting: ToggleSetting | null, key: string | null, value: unknown): string => {
      if (setting === null) return toggle.default;
      const known = (v: string | undefined) => (v !== undefined && toggle.variants.includes(v) ? v : toggle.default);
      if (setting.fixed !== undefined) return known(setting.fixed);
      if (!(setting.where ?? []).every((r) => holds(r, value))) return toggle.default;
      return toggleBucket('tiers', key ?? '') < Math.round((setting.percent ?? 100) * 1000)
        ? known(setting.variant ?? toggle.on)
        : toggle.default;
    };
    const settings: Array<ToggleSetting | null> = [
      null,
      { fixed: 'silver' },
      { fixed: 'platinum' },
      { percent: 0 },
      { percent: 100 },
      { percent: 37.5 },
      { percent: 37.5, variant: 'silver' },
      { percent: 20, variant: 'platinum' },
      { where: [{ field: 'currency', op: 'eq', value: 'EUR' }] },
      { where: [{ field: 'currency', op: 'eq', value: 'EUR' }], percent: 50, variant: 'silver' },
      { where: [{ field: 'amount', op: 'eq', value: 3 }] },
      { where: [{ field: 'vip', op: 'eq', value: true }], percent: 0 },
      { where: [{ field: 'customer.country', op: 'eq', value: 'FR' }] },
      { where: [{ field: 'currency', op: 'eq', value: ['EUR'] }] },
      { where: [{ field: 'currency', op: 'neq', value: 'EUR' }], percent: 60 },
      {
        where: [
          { field: 'currency', op: 'in', value: ['EUR', 'GBP'] },
          { field: 'amount', op: 'gte', value: 5 },
        ],
      },
      {
        where: [
          { field: 'sku', op: 'prefix', value: 'X-' },
          { field: 'amount', op: 'lt', value: 8 },
        ],
        percent: 70,
      },
    ];
    const currencies = ['EUR', 'USD', 'GBP', undefined];
    const records = Array.from({ length: 2000 }, (_, i) => ({
      key: i % 97 === 0 ? null : `k-${i}`,
      value:
        i % 101 === 0
          ? null
          : {
              currency: currencies[i % 4],
              amount: i % 11,
              vip: i % 3 === 0,
              sku: i % 2 === 0 ? `X-${i}` : `Y-${i}`,
              customer: { country: ['FR', 'DE'][i % 2] },
            },
    }));
    for (const setting of settings) {
      const compiled = compileSetting('tiers', setting, toggle);
      for (const r of records) {
        const want = reference(setting, r.key, r.value);
        assert.equal(
          compiled(r.key, r.value),
          want,
          `${JSON.stringify(setting)} for ${r.key} ${JSON.stringify(r.value)}`,
        );
      }
    }
  });

  it('bad settings and rules are refused with SLIPWAY_INVALID_TOGGLE naming the field', () => {
    const refused = (fn: () => unknown, field: string) =>
      assert.throws(fn, (e) => isSlipwayError(e, 'SLIPWAY_INVALID_TOGGLE') && e.details?.field === field);
    refused(() => checkToggleSetting({ percent: 120 }), 'percent');
    refused(() => checkToggleSetting({ percent: 'ten' }), 'percent');
    refused(() => checkToggleSetting({}), 'percent');
    refused(() => checkToggleSetting({ fixed: 'new', percent: 5 }), 'fixed');
    refused(() => checkToggleSetting({ fixed: 'blue' }, pricing.variants), 'fixed');
    refused(() => checkToggleSetting({ where: [{ field: 'a', op: 'like', value: 1 }] }), 'where[0].op');
    refused(() => checkToggleSetting({ colour: 1 }), 'colour');
    refused(() => parseToggleRule('amount>lots'), 'where');
    refused(() => parseToggleRule('no operator'), 'where');
  });

  it('defineToggle refuses bad definitions with SLIPWAY_INVALID_DEFINITION', () => {
    const refused = (d: unknown) =>
      assert.throws(
        () => defineToggle(d as Parameters<typeof defineToggle>[0]),
        (e) => isSlipwayError(e, 'SLIPWAY_INVALID_DEFINITION'),
      );
    refused({ name: 'Bad Name', kind: 'feature' });
    refused({ name: 'x', kind: 'other' });
    refused({ name: 'x', kind: 'feature', variants: ['only'] });
    refused({ name: 'x', kind: 'feature', default: 'maybe' });
    refused({ name: 'x', kind: 'feature', guards: [{}] });
    const t = defineToggle({ name: 'x', kind: 'data' });
    assert.deepEqual([t.default, t.on, [...t.variants]], ['off', 'on', ['off', 'on']]);
  });
});
