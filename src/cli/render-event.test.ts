// Issue 10, item 14.1: the shadow-diff line said `1670 identical` when 1478 changed in allowed fields.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentEvent } from '../deploy/deployment.js';
import { compareOutputs, type OutputDiff } from '../deploy/output-diff.js';
import { describeDiffCounts, describeEvent } from './render-event.js';

/** 1670 compared: 190 identical, 1478 changed only in amountEur (allowed), 2 changed in orderId too. */
function diff(): OutputDiff {
  const live = new Map<string, string>();
  const shadow = new Map<string, string>();
  for (let i = 0; i < 1670; i++) {
    const source = `orders.v1/0/${i}`;
    live.set(source, JSON.stringify({ orderId: `o-${i}`, amountEur: i }));
    const amountEur = i < 190 ? i : i + 1;
    const orderId = i >= 1668 ? `x-${i}` : `o-${i}`;
    shadow.set(source, JSON.stringify({ orderId, amountEur }));
  }
  return compareOutputs([{ topic: 'enriched-orders.v1', live, shadow }], ['amountEur']);
}

const shadowEvent = (d: OutputDiff, ok: boolean): DeploymentEvent =>
  ({
    seq: 3,
    deploymentId: 'd-1',
    at: Date.UTC(2026, 0, 1, 8, 20, 10, 228),
    step: 'shadow',
    kind: 'end',
    data: { ok, shadowInputs: d.compared, diff: d, gates: [] },
  }) as DeploymentEvent;

describe('the shadow diff line', () => {
  it('tells identical records from records changed as allowed and from unexpected changes', () => {
    const line = describeEvent(shadowEvent(diff(), false));
    assert.equal(
      line,
      '08:20:10.228  shadow diff 1670 compared: 190 identical, 1478 changed as allowed (amountEur×1480), 2 changed (orderId×2), 0 missing, 0 extra → FAIL',
    );
  });

  it('leaves out the field lists when nothing changed', () => {
    const same = compareOutputs([{ topic: 't', live: new Map([['t/0/0', '1']]), shadow: new Map([['t/0/0', '1']]) }]);
    assert.equal(describeDiffCounts(same), '1 identical, 0 changed as allowed, 0 changed, 0 missing, 0 extra');
  });

  it('still reads a diff recorded before allowed changes were counted apart', () => {
    const old = { ...diff(), identical: 1668 } as OutputDiff;
    delete old.changedAllowed;
    delete old.allowedFields;
    assert.equal(
      describeDiffCounts(old),
      '1668 identical, 2 changed, 0 missing, 0 extra (fields: amountEur×1480, orderId×2)',
    );
  });
});

describe('the contract line', () => {
  const at = Date.UTC(2026, 0, 1, 8, 20, 10, 228);
  const step = { datastore: 'main', table: 'customer_totals', version: 3, description: 'drop legacy' };
  it('says what runs once blue is retired, and what was applied', () => {
    const begin = { seq: 9, deploymentId: 'd-1', at, step: 'contract', kind: 'begin', data: { steps: [step] } };
    assert.equal(
      describeEvent(begin as DeploymentEvent),
      '08:20:10.228  contract    blue retired: applying the contract migrations customer_totals step 3 (drop legacy)…',
    );
    const end = { ...begin, kind: 'end', data: { applied: [step] } };
    assert.match(describeEvent(end as DeploymentEvent), /applied customer_totals step 3 \(drop legacy\)/);
  });
  it('tells a failed contract on the completed line: green stays live, the steps stay pending', () => {
    const done = {
      seq: 10,
      deploymentId: 'd-1',
      at,
      step: 'completed',
      kind: 'info',
      data: { contractError: { code: 'SLIPWAY_MIGRATION_FAILED', message: 'lock timeout' } },
    };
    assert.match(describeEvent(done as DeploymentEvent), /contract migrations failed .*stay pending/);
  });
});
