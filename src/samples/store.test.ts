import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isSlipwayError } from 'slipway';
import { enrichedOrders, orders } from '../../examples/orders/datasets.js';
import { ordersMasking } from '../../examples/orders/masking.js';
import { produceOrders, type TempLog, tempLog } from '../../test/helpers/orders.js';
import { captureSample } from './capture.js';
import { listSamples, loadSample, parseSampleRef, readSample, readSampleStats, writeSample } from './store.js';

const KEY = 'store-test-key-0123456789';

describe('sample store', () => {
  let t: TempLog;
  let root: string;
  before(async () => {
    t = await tempLog('slipway-store-');
    root = join(t.dir, 'samples');
    await produceOrders(t.log, 0, 3000);
  });
  after(async () => t.cleanup());

  it('round-trips a sample: records, stats and manifest', async () => {
    const sample = await captureSample({
      log: t.log,
      dataset: orders,
      size: 250,
      masking: ordersMasking,
      maskKey: KEY,
      name: 'smoke',
    });
    const paths = await writeSample(sample, { root });
    assert.equal(paths.records, join(root, 'orders.v1', 'smoke.jsonl'));
    assert.equal(paths.stats, join(root, 'orders.v1', 'smoke.stats.json'));
    const lines = readFileSync(paths.records, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 250);

    const loaded = await loadSample('orders.v1/smoke', { root });
    assert.deepEqual(loaded, sample.records);
    const typed = await loadSample('orders.v1/smoke', { root, dataset: orders });
    assert.equal(typed[0]?.currency !== undefined, true);

    const back = await readSample('orders.v1/smoke', { root });
    assert.deepEqual(back.stats, sample.stats);
    assert.deepEqual(back.manifest, sample.manifest);
    assert.equal(back.manifest.dataset.schemaDigest, orders.schemaDigest);
    assert.deepEqual(back.manifest.masking?.rules, { email: 'fake:email', customerId: 'fake:id(prefix=c-)' });
    const statsOnly = await readSampleStats('orders.v1/smoke', { root });
    assert.equal(statsOnly.stats.records, 250);
    // The file starts with its format, then the manifest, then the stats.
    const file = JSON.parse(readFileSync(paths.stats, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(file), ['format', 'version', 'sample', 'records', 'fields']);
  });

  it('names the default sample when the ref has no name, and lists samples', async () => {
    const sample = await captureSample({ log: t.log, dataset: orders, size: 20, masking: ordersMasking, maskKey: KEY });
    await writeSample(sample, { root });
    assert.equal((await loadSample('orders.v1', { root })).length, 20);
    assert.deepEqual(await listSamples({ root }), ['orders.v1/default', 'orders.v1/smoke']);
    assert.deepEqual(parseSampleRef('orders.v1/black-friday'), { topic: 'orders.v1', name: 'black-friday' });
  });

  it('says which samples exist when one is missing', async () => {
    await assert.rejects(
      loadSample('orders.v1/nope', { root }),
      (err) =>
        isSlipwayError(err, 'SLIPWAY_SAMPLE_NOT_FOUND') && /orders\.v1\/default, orders\.v1\/smoke/.test(err.message),
    );
    await assert.rejects(loadSample('orders/default', { root }), (err) => isSlipwayError(err, 'SLIPWAY_USAGE'));
    await assert.rejects(loadSample('orders.v1/default', { root, dataset: enrichedOrders }), (err) =>
      isSlipwayError(err, 'SLIPWAY_USAGE'),
    );
  });

  it('names the line of a record that no longer matches the schema, or is not JSON', async () => {
    const path = join(root, 'orders.v1', 'default.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[2] = JSON.stringify({ ...JSON.parse(lines[2] as string), amount: 'lots' });
    writeFileSync(path, lines.join('\n'));
    await assert.rejects(
      loadSample('orders.v1/default', { root, dataset: orders }),
      (err) => isSlipwayError(err, 'SLIPWAY_VALIDATION') && /default\.jsonl:3 .*amount/.test(err.message),
    );
    lines[4] = '{broken';
    writeFileSync(path, lines.join('\n'));
    await assert.rejects(
      loadSample('orders.v1/default', { root }),
      (err) => isSlipwayError(err, 'SLIPWAY_PARSE') && /:5 /.test(err.message),
    );
    assert.ok(existsSync(path));
  });
});
