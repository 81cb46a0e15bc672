// The embedded log's commit thread (see commit-writer.ts): one SQLite connection, commits in order.
import { parentPort, workerData } from 'node:worker_threads';
import type { CommitBatch } from '../log.js';
import { toPlainError } from './commit-writer.js';
import { EmbeddedLog } from './embedded-log.js';
import { unpackBatch, type WireBatch } from './packed-batch.js';

const port = parentPort;
if (port === null) throw new Error('commit-worker runs as a worker thread');
let log: EmbeddedLog;
try {
  log = EmbeddedLog.open({ ...(workerData as { options: { path: string } }).options, commitThread: false });
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ ready: true, error: toPlainError(err) });
  process.exit(1);
}
port.on('message', async (msg: { type: 'commit' | 'close'; id: number; batch?: CommitBatch; wire?: WireBatch }) => {
  if (msg.type === 'close') {
    await log.close();
    port.close();
    return;
  }
  try {
    const result = await (msg.wire === undefined
      ? log.commit(msg.batch as CommitBatch)
      : log.commitPacked(unpackBatch(msg.wire)));
    port.postMessage({ id: msg.id, result });
  } catch (err) {
    port.postMessage({ id: msg.id, error: toPlainError(err) });
  }
});
