import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommitBatch } from '../log.js';
import { packBatch, unpackBatch } from './packed-batch.js';

describe('packed commit batches', () => {
  it('round-trips keys (null and empty), values, headers and timestamps', () => {
    const batch: CommitBatch = {
      owner: 'o',
      epoch: 3,
      outputs: [
        {
          topic: 'a',
          records: [
            { partition: 1, key: null, value: '{"x":"line\\nbreak"}' },
            { partition: 0, key: '', value: '', headers: {} },
            {
              partition: 2,
              key: 'k',
              value: '"v"',
              headers: { 'slipway-source': 'in.v1/0/7#1', h: 'é\n' },
              timestamp: 1700,
            },
          ],
        },
        { topic: 'empty', records: [] },
      ],
      state: { namespace: 'n', writes: [{ partition: 0, key: 'k', value: null }] },
      offsets: { group: 'g', offsets: [{ topic: 'in.v1', partition: 0, offset: 8 }] },
    };
    const packed = packBatch(batch);
    assert.ok(packed !== undefined);
    const back = unpackBatch(structuredClone(packed));
    assert.deepEqual(back.state, batch.state);
    assert.deepEqual(back.offsets, batch.offsets);
    assert.equal(back.owner, 'o');
    assert.equal(back.epoch, 3);
    const records = back.outputs?.[0]?.records as unknown as Array<Record<string, unknown>>;
    assert.deepEqual(records, [
      { partition: 1, key: null, value: '{"x":"line\\nbreak"}', headersJson: null },
      { partition: 0, key: '', value: '', headersJson: null },
      {
        partition: 2,
        key: 'k',
        value: '"v"',
        headersJson: '{"slipway-source":"in.v1/0/7#1","h":"é\\n"}',
        timestamp: 1700,
      },
    ]);
    assert.deepEqual(back.outputs?.[1], { topic: 'empty', records: [] });
  });

  it('leaves a batch unpacked when a key holds the separator or a value is not text', () => {
    assert.equal(
      packBatch({
        owner: 'o',
        epoch: 1,
        outputs: [{ topic: 'a', records: [{ partition: 0, key: 'a\u0001b', value: 'v' }] }],
      }),
      undefined,
    );
    assert.equal(
      packBatch({
        owner: 'o',
        epoch: 1,
        outputs: [{ topic: 'a', records: [{ partition: 0, key: 'a', value: 5 as never }] }],
      }),
      undefined,
    );
  });
});
