import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { compileSetting, isSlipwayError, setToggle } from 'slipway';
import { SlipwayToggleProvider } from 'slipway/openfeature';
import { euOutput, fastLane, newPricing } from '../../test/fixtures/toggled-orders.js';
import { tempLog } from '../../test/helpers/orders.js';

/** `promise`, or a clear failure after `ms`; the ref'd timer keeps the event loop alive meanwhile. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not come within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the OpenFeature provider', () => {
  it('services read the same toggles through the standard API: same variant per key as a pipeline, changes announced', async () => {
    const t = await tempLog('slipway-openfeature-');
    const provider = new SlipwayToggleProvider({
      log: t.log,
      toggles: [newPricing, euOutput, fastLane],
      refreshMs: 50,
    });
    try {
      const setting = { percent: 30, where: [{ field: 'currency', op: 'eq' as const, value: 'EUR' }] };
      await setToggle(t.log, { toggle: 'new-pricing', setting, by: 'ana' });
      await OpenFeature.setProviderAndWait('slipway-test', provider);
      const client = OpenFeature.getClient('slipway-test');
      const inPipeline = compileSetting('new-pricing', setting, newPricing);
      let on = 0;
      for (let i = 0; i < 500; i++) {
        const ctx = { targetingKey: `c${i}`, currency: i % 2 === 0 ? 'EUR' : 'USD' };
        const d = await client.getStringDetails('new-pricing', 'old', ctx);
        assert.equal(d.value, inPipeline(ctx.targetingKey, ctx), `c${i}`);
        if (d.value === 'new') on++;
        assert.equal(d.flagMetadata.version, 1);
      }
      assert.ok(on > 40 && on < 110, `about 30 % of the EUR half: ${on}`);
      assert.equal(await client.getBooleanValue('eu-output', true, { targetingKey: 'c1' }), false, 'default off');

      const changed = new Promise<string[]>((resolve) =>
        client.addHandler(ProviderEvents.ConfigurationChanged, (e) => resolve(e?.flagsChanged ?? [])),
      );
      await setToggle(t.log, { toggle: 'eu-output', setting: { fixed: 'on' }, by: 'bo' });
      // The provider's refresh timer is unref'd (a library must not keep a service alive); while the test waits
      // for the announcement, a ref'd deadline keeps the process up, and fails clearly if none comes.
      assert.deepEqual(await within(changed, 10_000, 'the ConfigurationChanged event'), ['eu-output']);
      const d = await client.getBooleanDetails('eu-output', false, { targetingKey: 'c1' });
      assert.equal(d.value, true);
      assert.equal(d.reason, 'STATIC');
      assert.equal(d.flagMetadata.changedBy, 'bo');

      const missing = await client.getStringDetails('no-such-toggle', 'x', { targetingKey: 'c1' });
      assert.equal(missing.errorCode, ErrorCode.FLAG_NOT_FOUND);
      assert.equal(missing.value, 'x');
      const number = await client.getNumberDetails('new-pricing', 1, { targetingKey: 'c1' });
      assert.equal(number.errorCode, ErrorCode.TYPE_MISMATCH);
    } finally {
      await OpenFeature.clearProviders();
      await t.cleanup();
    }
  });

  it('refuses to be made without a log or a source (SLIPWAY_USAGE)', () => {
    assert.throws(
      () => new SlipwayToggleProvider({ toggles: [newPricing] }),
      (err) => isSlipwayError(err, 'SLIPWAY_USAGE'),
    );
  });
});
