import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppendRecord, LogRecord } from '../log.js';
import { blobOf, decodeBatches, encodeRecords, MAX_BATCH_RECORDS, type StoredBatch } from './record-batch.js';

/** Stores encoded records the way the embedded log does (bases per partition from 0, commit time `now`). */
function store(records: AppendRecord[], now: number): Map<number, StoredBatch[]> {
  const encoded = encodeRecords(records);
  assert.ok(encoded !== undefined);
  const rows = new Map<number, StoredBatch[]>();
  for (const b of structuredClone(encoded).batches) {
    const list = rows.get(b.partition) ?? [];
    const base = list.reduce((n, r) => n + r[1], 0);
    const ts = b.timestamps === undefined ? now : blobOf(b.timestamps.map((t) => (Number.isNaN(t) ? now : t)));
    // Copy the blobs to unaligned offsets: SQLite hands them back wherever it likes.
    const unaligned = (buf: Buffer): Uint8Array => new Uint8Array(Buffer.concat([Buffer.alloc(1), buf])).subarray(1);
    list.push([
      base,
      b.count,
      unaligned(blobOf(b.lengths)),
      b.keys,
      b.values,
      b.headers,
      typeof ts === 'number' ? ts : unaligned(ts),
    ]);
    rows.set(b.partition, list);
  }
  return rows;
}

describe('record batches', () => {
  it('encode and decode records of any text, from any offset, at most max of them', () => {
    const odd = ['', 'é', '😀', 'a\nb', 'nul\u0000in', '"quoted"\\', '{"x":1}'];
    const records: AppendRecord[] = [];
    for (let i = 0; i < 2 * MAX_BATCH_RECORDS + 37; i++) {
      records.push({
        partition: i % 3 === 0 ? 1 : 0,
        key: i % 5 === 0 ? null : `k${i}${odd[i % odd.length]}`,
        value: `${odd[(i + 3) % odd.length]}v${i}`,
        ...(i % 4 === 0
          ? {}
          : {
              headers:
                i % 4 === 1
                  ? {}
                  : { 'slipway-source': `in.v1/0/${i}`, ...(i % 4 === 3 ? { h: odd[i % odd.length] as string } : {}) },
            }),
        ...(i % 7 === 0 ? { timestamp: 1000 + i } : {}),
      });
    }
    const rows = store(records, 99);
    for (const p of [0, 1]) {
      const expected = records
        .filter((r) => r.partition === p)
        .map((r, offset) => ({
          topic: 't',
          partition: p,
          offset,
          key: r.key,
          value: r.value,
          headers: r.headers ?? {},
          timestamp: r.timestamp ?? 99,
        }));
      for (const [from, max] of [
        [0, 1_000_000],
        [0, 1],
        [1, 3],
        [MAX_BATCH_RECORDS - 1, 2],
        [MAX_BATCH_RECORDS, 5],
        [expected.length - 1, 10],
        [expected.length, 10],
        [17, 1500],
      ] as const) {
        const out: LogRecord[] = [];
        decodeBatches(rows.get(p) ?? [], 't', p, from, max, out);
        assert.deepEqual(out, expected.slice(from, from + max), `partition ${p} from ${from} max ${max}`);
      }
    }
  });

  it('keeps lone surrogates from shifting the records after them', () => {
    const rows = store(
      [
        { partition: 0, key: 'a\ud800', value: 'x\udc00y' },
        { partition: 0, key: 'b', value: 'z' },
      ],
      5,
    );
    const out: LogRecord[] = [];
    decodeBatches(rows.get(0) ?? [], 't', 0, 0, 10, out);
    assert.deepEqual(
      out.map((r) => [r.key, r.value]),
      [
        ['a\ufffd', 'x\ufffdy'],
        ['b', 'z'],
      ],
    );
  });

  it('round-trips headers of every shape (the source header alone is stored as its bare value)', () => {
    const cases: Array<Record<string, string> | undefined> = [
      { 'slipway-source': 'orders.v1/2/1042' },
      { 'slipway-source': 'orders.v1/2/1042#1' },
      { 'slipway-source': 'a"b\\c\n\u0001é😀' },
      { 'slipway-source': 'lone \ud800' },
      { 'slipway-source': 'x', other: 'y' },
      { other: 'y', 'slipway-source': 'x' },
      { other: 'y' },
      {},
      undefined,
    ];
    const rows = store(
      cases.map((headers, i) => ({
        partition: 0,
        key: null,
        value: `v${i}`,
        ...(headers === undefined ? {} : { headers }),
      })),
      1,
    );
    const out: LogRecord[] = [];
    decodeBatches(rows.get(0) ?? [], 't', 0, 0, 100, out);
    assert.deepEqual(
      out.map((r) => [r.value, r.headers]),
      cases.map((h, i) => [`v${i}`, h ?? {}]),
    );
  });

  it('stores source and toggles headers compactly, each toggles value once per batch, read back from any offset', () => {
    // 70 distinct toggles values: past the 64 a batch interns, the rest are written in full every time.
    const records: AppendRecord[] = [];
    for (let i = 0; i < MAX_BATCH_RECORDS + 300; i++) {
      const toggles = `${i < 600 ? 4 : 5};rounding=${i % 70 < 35 ? 'round' : 'floor'},eu=${i % 70}`;
      records.push({
        partition: 0,
        key: `k${i}`,
        value: `v${i}`,
        // A source with any well-formed characters (even the compact form's marks) is kept as it is.
        headers:
          i % 97 === 5
            ? { 'slipway-source': `in.v1/0/${i}`, 'slipway-toggles': '1;x="quoted"' }
            : {
                'slipway-source': i % 89 === 7 ? `in"\u0001\u0002é😀/0/${i}` : `in.v1/0/${i}`,
                'slipway-toggles': toggles,
              },
      });
    }
    const rows = store(records, 1);
    const first = (rows.get(0) ?? [])[0] as StoredBatch;
    assert.ok(first[5].length < 30 * MAX_BATCH_RECORDS, `headers of the first batch take ${first[5].length} chars`);
    for (const [from, max] of [
      [0, 2000],
      [1, 5],
      [63, 10],
      [500, 700],
      [MAX_BATCH_RECORDS + 3, 50],
    ] as const) {
      const out: LogRecord[] = [];
      decodeBatches(rows.get(0) ?? [], 't', 0, from, max, out);
      assert.deepEqual(
        out.map((r) => r.headers),
        records.slice(from, from + max).map((r) => r.headers),
        `from ${from} max ${max}`,
      );
    }
  });

  it('refuses to encode a malformed record (the log then names it)', () => {
    assert.equal(encodeRecords([{ partition: 0, key: 'a', value: 5 as never }]), undefined);
    assert.equal(encodeRecords([{ partition: 1.5, key: 'a', value: 'v' }]), undefined);
    assert.equal(encodeRecords([{ partition: -1, key: 'a', value: 'v' }]), undefined);
  });
});
