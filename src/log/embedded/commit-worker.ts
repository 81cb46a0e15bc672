// The embedded log's commit thread (see commit-writer.ts): one SQLite connection, commits in order.
import { parentPort, workerData } from 'node:worker_threads';
import { toPlainError } from './commit-writer.js';
import { openEmbeddedLog } from './embedded-log.js';

const port = parentPort;
if (port === null) throw new Error('commit-worker runs as a worker thread');
const log = await openEmbeddedLog({
  ...(workerData as { options: object }).options,
  path: workerData.options.path,
  commitThread: false,
});
port.on('message', async (msg: { type: 'commit' | 'close'; id: number; batch: Parameters<typeof log.commit>[0] }) => {
  if (msg.type === 'close') {
    await log.close();
    port.close();
    return;
  }
  try {
    port.postMessage({ id: msg.id, result: await log.commit(msg.batch) });
  } catch (err) {
    port.postMessage({ id: msg.id, error: toPlainError(err) });
  }
});
