import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedLog } from '../log/embedded/embedded-log.js';
import type { Log } from '../log/log.js';

/**
 * Runs `fn` with a throwaway embedded log file in its own temp folder (so other processes can open
 * it too), then closes the log and removes the folder, whether `fn` succeeded or not.
 *
 * @example
 * await withEmbeddedLog(async (log, path) => {
 *   await produceRecords(log, orders, fixtures)
 *   await runPipeline({ pipeline: enrichOrders, log, until: 'caught-up' })
 * })
 */
export async function withEmbeddedLog<T>(fn: (log: Log, path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-log-'));
  const path = join(dir, 'log.db');
  const log = await openEmbeddedLog({ path });
  try {
    return await fn(log, path);
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}
