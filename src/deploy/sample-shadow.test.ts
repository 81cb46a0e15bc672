import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { enrichOrders } from '../../examples/orders/pipeline.js';
import { enrichOrdersV2 } from '../../examples/orders/versions/v2.js';
import { enrichOrdersBroken } from '../../examples/orders/versions/v3-broken.js';
import { sampleShadowDiff, samplesFor } from './sample-shadow.js';

const samplesRoot = resolve('examples/orders/samples');

describe('the shadow diff on a representative sample', () => {
  it('finds the default sample of each input, and none where there is none', () => {
    assert.deepEqual(samplesFor(enrichOrders, samplesRoot), ['orders.v1/default']);
    assert.deepEqual(samplesFor(enrichOrders, resolve('examples/orders/data')), []);
  });

  it('runs both versions over the sample and diffs their outputs by source', async () => {
    const same = await sampleShadowDiff({
      blue: { pipeline: enrichOrders, config: undefined },
      green: { pipeline: enrichOrders, config: undefined },
      samplesRoot,
    });
    assert.ok(same !== undefined);
    assert.equal(same.records, 200);
    assert.equal(same.compared, 200);
    assert.equal(same.identical, 200);
    assert.equal(same.ratio, 0);

    // v2 changes the USD rate: amountEur and the running totals differ, nothing else.
    const v2 = await sampleShadowDiff({
      blue: { pipeline: enrichOrders, config: undefined },
      green: { pipeline: enrichOrdersV2, config: undefined },
      samplesRoot,
    });
    assert.ok(v2 !== undefined);
    assert.ok(v2.changed > 0, 'USD orders changed');
    assert.ok('amountEur' in v2.changedFields);
    for (const field of Object.keys(v2.changedFields))
      assert.ok(['amountEur', 'customerTotalEur', 'tier'].includes(field), `${field} changed`);
    const allowed = await sampleShadowDiff({
      blue: { pipeline: enrichOrders, config: undefined },
      green: { pipeline: enrichOrdersV2, config: undefined },
      samplesRoot,
      allowChangedFields: ['amountEur', 'customerTotalEur', 'tier'],
    });
    assert.equal(allowed?.ratio, 0);

    // v3 throws on some records: their outputs are missing on green's side.
    const v3 = await sampleShadowDiff({
      blue: { pipeline: enrichOrders, config: undefined },
      green: { pipeline: enrichOrdersBroken, config: undefined },
      samplesRoot,
    });
    assert.ok(v3 !== undefined && v3.missing > 0 && v3.extra === 0, JSON.stringify(v3?.examples));
  });
});
