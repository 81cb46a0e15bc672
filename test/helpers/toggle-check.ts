// Checks a log on which priceOrders ran under toggle changes: every input has exactly one priced output, and
// every output (and the presence of every guarded one) is what the toggle version committed for its input
// offset produces — the version read from the partition's committed barriers, never from the output itself.
import assert from 'node:assert/strict';
import {
  type Log,
  parseTogglesHeader,
  readToggleBarriers,
  readToggleHistory,
  SOURCE_HEADER,
  snapshotAt,
  TOGGLES_HEADER,
  versionAt,
} from 'slipway';
import { orders } from '../../examples/orders/datasets.js';
import { euOrders, expectedOutputs, pricedOrders } from '../fixtures/toggled-orders.js';
import { readAll } from './orders.js';

export interface ToggleCheck {
  inputs: number;
  /** Distinct toggle versions that produced outputs. */
  versions: number[];
  euOutputs: number;
  barriers: number;
}

export async function checkToggledOutputs(log: Log, namespace = 'price-orders'): Promise<ToggleCheck> {
  const history = await readToggleHistory(log);
  const inputs = await readAll(log, orders.topic);
  const priced = await readAll(log, pricedOrders.topic);
  const eu = await readAll(log, euOrders.topic);
  const barriers = new Map<number, Awaited<ReturnType<typeof readToggleBarriers>>>();
  for (let p = 0; p < orders.partitions; p++)
    barriers.set(p, await readToggleBarriers(log, namespace, orders.topic, p));
  const bySource = (records: typeof priced) => {
    const map = new Map<string, (typeof priced)[number]>();
    for (const r of records) {
      // The input's source: a record's second emit carries `#1` after it.
      const source = (r.headers[SOURCE_HEADER] as string).replace(/#\d+$/, '');
      assert.ok(!map.has(source), `duplicate output ${r.topic} for ${source}`);
      map.set(source, r);
    }
    return map;
  };
  const pricedBy = bySource(priced);
  const euBy = bySource(eu);
  const versions = new Set<number>();
  const snapshots = new Map<number, ReturnType<typeof snapshotAt>>();
  for (const input of inputs) {
    const source = `${input.topic}/${input.partition}/${input.offset}`;
    const version = versionAt(barriers.get(input.partition) ?? [], input.offset);
    assert.notEqual(version, undefined, `no committed toggle barrier covers ${source}`);
    let snapshot = snapshots.get(version as number);
    if (snapshot === undefined) {
      snapshot = snapshotAt(history, version as number);
      snapshots.set(version as number, snapshot);
    }
    const expected = expectedOutputs(JSON.parse(input.value), input.key as string, snapshot);
    const out = pricedBy.get(source);
    assert.ok(out !== undefined, `lost: no priced output for ${source}`);
    assert.deepEqual(JSON.parse(out.value), expected[pricedOrders.topic], `priced output of ${source} at v${version}`);
    assert.equal(parseTogglesHeader(out.headers[TOGGLES_HEADER])?.version, version, `header version of ${source}`);
    const euOut = euBy.get(source);
    if (expected[euOrders.topic] === undefined)
      assert.equal(euOut, undefined, `eu output of ${source} must not flow at v${version}`);
    else {
      assert.ok(euOut !== undefined, `eu output of ${source} must flow at v${version}`);
      assert.deepEqual(JSON.parse(euOut.value), expected[euOrders.topic]);
    }
    versions.add(version as number);
  }
  assert.equal(priced.length, inputs.length, 'one priced output per input');
  return {
    inputs: inputs.length,
    versions: [...versions].sort((a, b) => a - b),
    euOutputs: eu.length,
    barriers: [...barriers.values()].reduce((n, b) => n + b.length, 0),
  };
}
