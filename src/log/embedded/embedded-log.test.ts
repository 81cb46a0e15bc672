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
