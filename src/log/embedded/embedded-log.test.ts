import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isSlipwayError } from '../../errors.js';
import { runLogContract } from '../contract.js';
import { openEmbeddedLog } from './embedded-log.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-embedded-'));
const path = join(dir, 'log.db');

runLogContract('embedded', {
  open: () => openEmbeddedLog({ path }),
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
});

const threadedDir = mkdtempSync(join(tmpdir(), 'slipway-embedded-threaded-'));
runLogContract('embedded, commits on a worker thread', {
  open: () => openEmbeddedLog({ path: join(threadedDir, 'log.db'), commitThread: true }),
  cleanup: async () => rmSync(threadedDir, { recursive: true, force: true }),
});

describe('embedded log files', () => {
  it('refuses a file that is not a SQLite database', async () => {
    const d = mkdtempSync(join(tmpdir(), 'slipway-bad-'));
    const file = join(d, 'garbage.db');
    writeFileSync(file, 'this is not a database, just some text that is long enough to look like a header'.repeat(20));
    await assert.rejects(openEmbeddedLog({ path: file }), (err) => isSlipwayError(err, 'SLIPWAY_LOG_CORRUPT'));
    rmSync(d, { recursive: true, force: true });
  });

  it('refuses a SQLite database that is not a Slipway log, and leaves it untouched', async () => {
    const d = mkdtempSync(join(tmpdir(), 'slipway-other-'));
    const file = join(d, 'other.db');
    const db = new Database(file);
    db.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY); INSERT INTO customers VALUES (1)');
    db.close();
    await assert.rejects(openEmbeddedLog({ path: file }), (err) => isSlipwayError(err, 'SLIPWAY_LOG_CORRUPT'));
    const again = new Database(file);
    assert.deepEqual(again.prepare("SELECT name FROM sqlite_master WHERE type='table'").pluck().all(), ['customers']);
    again.close();
    rmSync(d, { recursive: true, force: true });
  });

  it('refuses a log of the older record-per-row format with SLIPWAY_LOG_CORRUPT, and leaves it untouched', async () => {
    const d = mkdtempSync(join(tmpdir(), 'slipway-v1-'));
    const file = join(d, 'log.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE slipway_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO slipway_meta VALUES ('format', 'slipway-embedded-log'), ('version', '1');
      CREATE TABLE topics (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, partitions INTEGER NOT NULL);
      INSERT INTO topics VALUES (1, 't', 1);
      CREATE TABLE p_1_0 (offset INTEGER PRIMARY KEY, key TEXT, value TEXT NOT NULL, headers TEXT, ts INTEGER NOT NULL);`);
    db.close();
    await assert.rejects(openEmbeddedLog({ path: file }), (err) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_LOG_CORRUPT'));
      assert.match(err.message, /older Slipway/);
      assert.equal(err.details?.version, 1);
      return true;
    });
    const again = new Database(file);
    assert.deepEqual(again.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").pluck().all(), [
      'p_1_0',
      'slipway_meta',
      'topics',
    ]);
    again.close();
    rmSync(d, { recursive: true, force: true });
  });

  it('marks its files log format v3 (compact toggles headers), so a Slipway that reads only v2 refuses them at open', async () => {
    const d = mkdtempSync(join(tmpdir(), 'slipway-v3-'));
    const file = join(d, 'log.db');
    const log = await openEmbeddedLog({ path: file });
    await log.createTopic('t', { partitions: 1 });
    const epoch = await log.fence('o');
    const headers = { 'slipway-source': 'in/0/7', 'slipway-toggles': '3;rounding=floor' };
    await log.commit({
      owner: 'o',
      epoch,
      outputs: [{ topic: 't', records: [{ partition: 0, key: 'k', value: '1', headers }] }],
    });
    await log.close();
    const db = new Database(file);
    // The stored form a v2 reader would take for header JSON, and the mark that keeps such a reader out.
    assert.equal((db.prepare('SELECT headers FROM p_1_0').pluck().get() as string).charCodeAt(0), 1);
    assert.equal(db.prepare("SELECT value FROM slipway_meta WHERE key = 'version'").pluck().get(), '3');
    // What a reader that does not know this format sees: its check refuses a version above its own, saying so.
    db.prepare("UPDATE slipway_meta SET value = '4' WHERE key = 'version'").run();
    db.close();
    await assert.rejects(openEmbeddedLog({ path: file }), (err) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_LOG_CORRUPT'));
      assert.match(err.message, /v4; this Slipway reads slipway-embedded-log v3\. Upgrade Slipway/);
      return true;
    });
    rmSync(d, { recursive: true, force: true });
  });

  it('reads a v2 log as it is and marks it v3 before writing to it', async () => {
    const d = mkdtempSync(join(tmpdir(), 'slipway-v2-'));
    const file = join(d, 'log.db');
    const log = await openEmbeddedLog({ path: file });
    await log.createTopic('t', { partitions: 1 });
    await log.append('t', [{ partition: 0, key: 'k', value: '1', headers: { trace: 'a' } }]);
    await log.close();
    const db = new Database(file);
    db.prepare("UPDATE slipway_meta SET value = '2' WHERE key = 'version'").run();
    db.close();
    const again = await openEmbeddedLog({ path: file });
    const [record] = await again.read('t', 0, 0, 10);
    assert.deepEqual([record?.value, record?.headers], ['1', { trace: 'a' }]);
    await again.close();
    const check = new Database(file);
    assert.equal(check.prepare("SELECT value FROM slipway_meta WHERE key = 'version'").pluck().get(), '3');
    check.close();
    rmSync(d, { recursive: true, force: true });
  });

  for (const commitThread of [false, true]) {
    it(`reads back large appends and commits from any offset (records stored in batches${commitThread ? ', commit thread' : ''})`, async () => {
      const d = mkdtempSync(join(tmpdir(), 'slipway-batches-'));
      const log = await openEmbeddedLog({ path: join(d, 'log.db'), commitThread });
      await log.createTopic('t', { partitions: 2 });
      const values: string[][] = [[], []];
      const records = Array.from({ length: 2500 }, (_, i) => ({
        partition: i % 4 === 0 ? 1 : 0,
        key: i % 3 === 0 ? null : `k${i}`,
        value: `{"i":${i},"s":"é😀"}`,
      }));
      const offsets = await log.append('t', records);
      for (const r of records) values[r.partition]?.push(r.value);
      assert.deepEqual(offsets.slice(0, 5), [0, 0, 1, 2, 1]);
      const epoch = await log.fence('o');
      const more = records
        .slice(0, 1200)
        .map((r, i) => ({ ...r, value: `more ${i}`, headers: { 'slipway-source': `x/0/${i}` } }));
      const result = await log.commit({ owner: 'o', epoch, outputs: [{ topic: 't', records: more }] });
      assert.deepEqual(result.offsets.t?.slice(0, 3), [625, 1875, 1876]);
      for (const r of more) values[r.partition]?.push(r.value);
      for (const p of [0, 1]) {
        const all = values[p] as string[];
        assert.equal(await log.endOffset('t', p), all.length);
        for (const [from, max] of [
          [0, 5000],
          [999, 3],
          [1000, 1],
          [1874, 2000],
          [all.length - 1, 9],
          [all.length, 9],
        ] as const) {
          const got = await log.read('t', p, from, max);
          assert.deepEqual(
            got.map((r) => r.value),
            all.slice(from, from + max),
            `p${p} from ${from} max ${max}`,
          );
          assert.deepEqual(
            got.map((r) => r.offset),
            got.map((_, i) => from + i),
          );
        }
      }
      const [first] = await log.read('t', 1, 625, 1);
      assert.deepEqual(first?.headers, { 'slipway-source': 'x/0/0' });
      assert.equal(first?.key, null);
      await log.close();
      rmSync(d, { recursive: true, force: true });
    });
  }

  it('reports a log locked by another writer as SLIPWAY_LOG_LOCKED (retryable)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'slipway-lock-'));
    const file = join(d, 'log.db');
    const log = await openEmbeddedLog({ path: file, busyTimeoutMs: 50 });
    await log.createTopic('t', { partitions: 1 });
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    await assert.rejects(log.append('t', [{ partition: 0, key: null, value: 'x' }]), (err) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_LOG_LOCKED'));
      assert.equal(err.retryable, true);
      return true;
    });
    holder.exec('ROLLBACK');
    holder.close();
    assert.deepEqual(await log.append('t', [{ partition: 0, key: null, value: 'x' }]), [0]);
    await log.close();
    rmSync(d, { recursive: true, force: true });
  });
});

describe('reading through the kept last batch', () => {
  it('returns what a fresh handle reads, for reads that start inside, at the end of and past kept batches', async () => {
    const d = mkdtempSync(join(tmpdir(), 'slipway-kept-'));
    const file = join(d, 'log.db');
    const writer = await openEmbeddedLog({ path: file });
    // More partitions than the cache keeps (32), so batches are also dropped and fetched again.
    const partitions = 40;
    await writer.createTopic('t', { partitions });
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const expected: string[][] = Array.from({ length: partitions }, () => []);
    for (let append = 0; append < 60; append++) {
      const records = Array.from({ length: 1 + next(400) }, () => {
        const partition = next(partitions);
        const value = `p${partition}-${expected[partition]?.length}-${'x'.repeat(next(30))}`;
        expected[partition]?.push(value);
        return { partition, key: `k${partition}`, value };
      });
      // Values are pushed in record order, which is the order each partition's offsets follow.
      await writer.append('t', records);
    }
    const reader = await openEmbeddedLog({ path: file });
    const positions = new Array<number>(partitions).fill(0);
    for (let i = 0; i < 3000; i++) {
      const p = next(partitions);
      const max = 1 + next(700);
      // Mostly go on from where the last read ended (as a runner does); sometimes jump back or ahead.
      const roll = next(10);
      const from =
        roll === 0
          ? next((expected[p]?.length ?? 0) + 5)
          : roll === 1
            ? Math.max(0, (positions[p] ?? 0) - 3)
            : (positions[p] ?? 0);
      const got = await reader.read('t', p, from, max);
      assert.deepEqual(
        got.map((r) => r.value),
        (expected[p] ?? []).slice(from, from + max),
        `read ${i}: partition ${p} from ${from}, max ${max}`,
      );
      assert.ok(got.every((r, j) => r.offset === from + j && r.key === `k${p}`));
      positions[p] = from + got.length;
    }
    await reader.close();
    await writer.close();
    rmSync(d, { recursive: true, force: true });
  });
});
