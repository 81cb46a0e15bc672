import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { murmur2, partitionFor } from './partitioner.js';

describe('partitionFor (Kafka default partitioner)', () => {
  it('matches Kafka on known keys', () => {
    // Values from Kafka's own tests (Utils.murmur2 and the default partitioner's toPositive(murmur2) % n).
    assert.equal(murmur2(Buffer.from('21', 'utf8')), -973932308);
    assert.equal(murmur2(Buffer.from('foobar', 'utf8')), -790332482);
    assert.equal(murmur2(Buffer.from('a-little-bit-long-string', 'utf8')), -985981536);
    assert.equal(murmur2(Buffer.from('a-little-bit-longer-string', 'utf8')), -1486304829);
    assert.equal(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', 'utf8')), -58897971);
    assert.equal(murmur2(Buffer.from('abc', 'utf8')), 479470107);
  });

  it('hashes ASCII keys (the reused-buffer path) exactly like their UTF-8 bytes, and other keys too', () => {
    const keys = [
      '',
      'c1',
      'customer-42',
      'x'.repeat(255),
      'y'.repeat(256),
      'z'.repeat(300),
      'café',
      'ключ',
      '🙂k',
      'a\u007f',
    ];
    for (let i = 0; i < 2000; i++) keys.push(`k${i * 7919}-${String.fromCharCode(32 + (i % 95))}`);
    for (const key of keys) {
      for (const n of [1, 4, 7, 12]) {
        assert.equal(partitionFor(key, n), (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % n, key);
      }
    }
  });
});
