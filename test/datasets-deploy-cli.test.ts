import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { datasetsProject, MIGRATE_V2 } from './helpers/datasets-project.js';

const project = datasetsProject('slipway-datasets-deploy-');
const { cli } = project;
after(async () => {
  await cli('down');
  project.remove();
});

// A producer of orders 1.1.0, which adds a note: a minor (orders is closed, the note optional), but the
// example's enrich-orders, built with orders 1.0.0, refuses records that carry it.
writeFileSync(
  join(project.dir, 'shop.ts'),
  [
    "import { Type } from '@sinclair/typebox';",
    "import { defineDataset, definePipeline, type JsonSchema } from 'slipway';",
    "import { orders } from './datasets.js';",
    "const checkouts = defineDataset({ name: 'checkouts', version: '1.0.0', key: 'customerId', schema: Type.Object({ customerId: Type.String() }) });",
    'const ordersNext = defineDataset({',
    "  name: 'orders', version: '1.1.0', key: 'customerId', partitions: 4,",
    "  schema: { ...orders.schema, properties: { ...(orders.schema.properties as JsonSchema), note: { type: 'string' } } },",
    '});',
    "export const shop = definePipeline({ name: 'shop', version: '1.0.0', inputs: [checkouts], outputs: [ordersNext], process() {} });",
    '',
  ].join('\n'),
);

describe('dataset versions through the control plane', () => {
  it('refuses a reader that cannot read what the producer writes, deploys a bridge, shows lineage, refuses to retire a major in use', async () => {
    const up = await cli('up', '--detach');
    assert.equal(up.code, 0, up.stderr);
    const shop = await cli('deploy', 'shop.ts', '--bake', '100', '--allow-untested');
    assert.equal(shop.code, 0, shop.stderr);

    const reader = await cli('deploy', 'pipeline.ts', '--bake', '100', '--allow-untested');
    assert.equal(reader.code, 1);
    assert.match(
      reader.stderr,
      /error SLIPWAY_READER_INCOMPATIBLE: Deploying enrich-orders@1\.0\.0 to local is refused/,
    );
    assert.match(
      reader.stderr,
      /enrich-orders@1\.0\.0 reads orders@\^1 \(built with 1\.0\.0\); shop@1\.0\.0 writes orders@1\.1\.0, which the reader's schema refuses/,
    );
    assert.match(
      reader.stderr,
      /\$\.note: closed content model without it \(1\.0\.0\) → declares 'note' \(1\.1\.0\) {2}\[property-not-accepted\]/,
    );

    const list = await cli('datasets');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /\norders +1\.1\.0 +orders\.v1 +backward +[0-9a-f]{12} .* shop@1\.0\.0 +local +-\n/);

    const lineage = await cli('datasets', 'lineage', 'orders');
    assert.equal(lineage.code, 0, lineage.stderr);
    assert.match(lineage.stdout, /\norders\.v1 +local +produces +shop@1\.0\.0 +1\.1\.0\n/);

    // The bridge into orders.v2, deployed like any pipeline: it reads orders.v1 and writes orders.v2. Built
    // from orders 1.0.0 it could not read what the shop writes (the note): refused like any reader.
    project.writeOrdersV2();
    const refused = await cli(...MIGRATE_V2, '--allow-untested');
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /SLIPWAY_READER_INCOMPATIBLE: Deploying bridge-orders-v1-to-v2@2\.0\.0 to local is refused/,
    );
    project.writeOrdersV2({
      v1: "const v1 = defineDataset({ name: 'orders', version: '1.1.0', key: 'customerId', partitions: 4, schema: { ...orders.schema, properties: { ...(orders.schema.properties as JsonSchema), note: { type: 'string' } } } });",
    });
    const migrate = await cli(...MIGRATE_V2, '--allow-untested');
    assert.equal(migrate.code, 0, `${migrate.stdout}\n${migrate.stderr}`);
    assert.match(migrate.stdout, /completed/);
    assert.match(migrate.stderr, /\nlive: orders\.v2 holds the \d+ records? of orders\.v1's history/);
    const both = await cli('datasets', 'lineage', 'orders');
    assert.match(both.stdout, /\norders\.v1 +local +consumes +bridge-orders-v1-to-v2@2\.0\.0 +1\.1\.0\n/);
    assert.match(both.stdout, /\norders\.v2 +local +produces +bridge-orders-v1-to-v2@2\.0\.0 +2\.0\.0\n/);

    const retire = await cli('datasets', 'retire', 'orders@1');
    assert.equal(retire.code, 1);
    assert.match(
      retire.stderr,
      /error SLIPWAY_DATASET_IN_USE: orders\.v1 is still in use.*\n {2}local: shop@1\.0\.0 writes it \(as orders@1\.1\.0\)/,
    );
    assert.match(retire.stderr, /\n {2}local: bridge-orders-v1-to-v2@2\.0\.0 reads it \(as orders@1\.1\.0\)/);
  });
});
