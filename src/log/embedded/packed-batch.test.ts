import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppendRecord, CommitBatch } from '../log.js';
import { packBatch, packedTransferables, unpackBatch } from './packed-batch.js';
import { encodeRecords, type RecordBatch } from './record-batch.js';

describe('packed commit batches', () => {
  it('carries the batch with its outputs encoded, and survives the trip to a thread', () => {
    const batch: CommitBatch = {
      owner: 'o',
      epoch: 3,
      outputs: [
        {
          topic: 'a',
          records: [
            { partition: 1, key: null, value: '{"x":"line\\nbreak"}' },
            { partition: 0, key: '', value: '', headers: {} },
            { partition: 1, key: 'k', value: '"v"', headers: { 'slipway-source': 'in.v1/0/7#1' }, timestamp: 1700 },
          ],
        },
        {
          topic: 'text',
          records: [
            {
              partition: 0,
              key: 'clé-😀',
              value: '{"note":"Zoë paid 5 €"}',
              headers: { 'slipway-source': 'in.v1/0/é' },
            },
            { partition: 0, key: 'k', value: '"\ud800 lone"', headers: { trace: 'ß' } },
          ],
        },
        { topic: 'empty', records: [] },
      ],
      state: { namespace: 'n', writes: [{ partition: 0, key: 'k', value: null }] },
      offsets: { group: 'g', offsets: [{ topic: 'in.v1', partition: 0, offset: 8 }] },
    };
    const packed = packBatch(batch);
    assert.ok(packed !== undefined);
    const transfer = packedTransferables(packed);
    const back = unpackBatch(structuredClone(packed, { transfer }));
    assert.deepEqual(back.state, batch.state);
    assert.deepEqual(back.offsets, batch.offsets);
    assert.equal(back.owner, 'o');
    assert.equal(back.epoch, 3);
    assert.equal('outputs' in back, false);
    const [a, text, empty] = back.packed;
    // Texts cross as UTF-8 and come back the same (a lone surrogate was made U+FFFD first).
    const t0 = text?.encoded.batches[0];
    assert.equal(t0?.values, '{"note":"Zoë paid 5 €"}"\ufffd lone"');
    assert.equal(t0?.keys, 'clé-😀k');
    assert.equal(t0?.headers, 'in.v1/0/é{"trace":"ß"}');
    assert.deepEqual([...(t0?.lengths ?? [])], [23, 6, -2 - 9, 8, 1, 13]);
    assert.equal(a?.topic, 'a');
    assert.deepEqual([...(a?.encoded.partitions ?? [])], [1, 0, 1]);
    const p1 = a?.encoded.batches.find((b) => b.partition === 1);
    assert.equal(p1?.count, 2);
    assert.equal(p1?.values, '{"x":"line\\nbreak"}"v"');
    assert.equal(p1?.headers, 'in.v1/0/7#1');
    assert.deepEqual([...(p1?.lengths ?? [])], [19, -1, -1, 3, 1, -2 - 11]);
    assert.deepEqual([...(p1?.timestamps ?? [])], [Number.NaN, 1700]);
    // The buffers were moved, not copied.
    assert.ok(transfer.length > 0 && transfer.every((b) => b.byteLength === 0));
    assert.deepEqual(empty, { topic: 'empty', encoded: { count: 0, partitions: new Int32Array(0), batches: [] } });
  });

  it('leaves a batch unpacked when a record is malformed', () => {
    assert.equal(
      packBatch({
        owner: 'o',
        epoch: 1,
        outputs: [{ topic: 'a', records: [{ partition: 0, key: 'a', value: 5 as never }] }],
      }),
      undefined,
    );
  });

  it('unpacks to exactly what the log would encode from the records itself (random records)', () => {
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const PIECES = ['a', 'é', '€', '😀', '\ud800', '\udc00', '"', '\\', ' ', 'z'.repeat(40), ''];
    const text = (): string => Array.from({ length: next(6) }, () => PIECES[next(PIECES.length)]).join('');
    for (let round = 0; round < 20; round++) {
      // Up to 2,500 records: one partition's records cross the 1,000-record batch limit.
      const records: AppendRecord[] = Array.from({ length: 1 + next(2500) }, (_, i): AppendRecord => {
        const roll = next(5);
        return {
          partition: next(3),
          key: next(5) === 0 ? null : text(),
          value: text(),
          ...(roll === 0
            ? {}
            : roll === 1
              ? { headers: { 'slipway-source': `in.v1/0/${i}` } }
              : roll === 2
                ? { headers: { a: text(), b: 'x' } }
                : roll === 3
                  ? {
                      headers: {
                        'slipway-source': next(4) === 0 ? `${text()}/0/${i}` : `in.v1/0/${i}`,
                        'slipway-toggles': `3;t=${next(100)}`,
                      },
                    }
                  : { headers: {} }),
          ...(next(3) === 0 ? { timestamp: 1_700_000_000_000 + i } : {}),
        };
      });
      const packed = packBatch({ owner: 'o', epoch: 1, outputs: [{ topic: 't', records }] });
      assert.ok(packed !== undefined);
      const back = unpackBatch(structuredClone(packed, { transfer: packedTransferables(packed) }));
      const expected = encodeRecords(records);
      const got = back.packed[0]?.encoded;
      assert.equal(got?.count, expected?.count);
      assert.deepEqual([...(got?.partitions ?? [])], [...(expected?.partitions ?? [])]);
      assert.equal(got?.batches.length, expected?.batches.length, `round ${round}`);
      // Batches of different partitions may come in another order; each partition's keep theirs.
      const byPartition = (batches: RecordBatch[] = []): RecordBatch[] =>
        [...batches].sort((x, y) => x.partition - y.partition);
      const want = byPartition(expected?.batches);
      byPartition(got?.batches).forEach((b, i) => {
        const e = want[i];
        assert.equal(b.partition, e?.partition);
        assert.equal(b.count, e?.count);
        assert.deepEqual([...b.lengths], [...(e?.lengths ?? [])], `round ${round}, batch ${i}: lengths`);
        assert.equal(b.values, e?.values, `round ${round}, batch ${i}: values`);
        assert.equal(b.keys, e?.keys, `round ${round}, batch ${i}: keys`);
        assert.equal(b.headers, e?.headers, `round ${round}, batch ${i}: headers`);
        assert.deepEqual(
          b.timestamps === undefined ? undefined : [...b.timestamps],
          e?.timestamps === undefined ? undefined : [...e.timestamps],
        );
      });
    }
  });

  it('leaves a batch with a key that is not a string unpacked', () => {
    assert.equal(
      packBatch({
        owner: 'o',
        epoch: 1,
        outputs: [{ topic: 'a', records: [{ partition: 0, key: 7 as never, value: 'v' }] }],
      }),
      undefined,
    );
  });
});
