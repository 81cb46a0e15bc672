// The raw loop of bench:throughput: read a batch → the same map as the pipeline → one commit of the
// outputs and the input offsets, straight on the Log, without the Slipway runtime. Run in the bench's
// own process, or (for the scaled figure) as a child process over a share of the partitions:
//   node --conditions=slipway-source --import tsx bench/raw-loop.ts '<json of RawLoopChild>'
import { fileURLToPath } from 'node:url';
import { type AppendRecord, type Log, openEmbeddedLog, partitionFor } from 'slipway';
import { addCents, addCentsSpread, benchIn, benchOut } from './common.js';

export const RAW_OUT = 'raw-out.v1';

export interface RawLoopOptions {
  /** The input partitions to read (default: all of them). */
  partitions?: number[];
  /** The output built as a literal (`addCents`, as the pipeline does) or with a spread. */
  map?: 'literal' | 'spread';
  owner?: string;
  batch?: number;
}

/** Reads every record of its partitions up to their end offsets at the start; returns how many it processed. */
export async function rawLoop(log: Log, options: RawLoopOptions = {}): Promise<number> {
  const owner = options.owner ?? 'raw-loop';
  const batchSize = options.batch ?? 2000;
  const map = options.map === 'spread' ? addCentsSpread : addCents;
  const partitions = options.partitions ?? Array.from({ length: benchIn.partitions }, (_, p) => p);
  const epoch = await log.fence(owner);
  await log.createTopic(RAW_OUT, { partitions: benchOut.partitions });
  const ends = await Promise.all(partitions.map((p) => log.endOffset(benchIn.topic, p)));
  const positions = partitions.map(() => 0);
  const total = ends.reduce((a, b) => a + b, 0);
  let done = 0;
  let next = 0;
  while (done < total) {
    const outputs: AppendRecord[] = [];
    const offsets = [];
    let read = 0;
    for (let i = 0; i < partitions.length && read < batchSize; i++) {
      const slot = (next + i) % partitions.length;
      const p = partitions[slot] as number;
      const max = Math.min(batchSize - read, (ends[slot] as number) - (positions[slot] as number));
      if (max <= 0) continue;
      const records = await log.read(benchIn.topic, p, positions[slot] as number, max);
      if (records.length === 0) continue;
      for (const r of records) {
        const out = map(JSON.parse(r.value));
        outputs.push({
          partition: partitionFor(out.userId, benchOut.partitions),
          key: out.userId,
          value: JSON.stringify(out),
        });
      }
      read += records.length;
      positions[slot] = (positions[slot] as number) + records.length;
      offsets.push({ topic: benchIn.topic, partition: p, offset: positions[slot] as number });
    }
    next = (next + 1) % partitions.length;
    await log.commit({
      owner,
      epoch,
      outputs: [{ topic: RAW_OUT, records: outputs }],
      offsets: { group: owner, offsets },
    });
    done += read;
  }
  return done;
}

/** What the bench passes a raw-loop child process. */
export interface RawLoopChild extends RawLoopOptions {
  path: string;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const options = JSON.parse(process.argv[2] as string) as RawLoopChild;
  const log = await openEmbeddedLog({ path: options.path, commitThread: true });
  // Ready: the parent starts its clock when every child is, then says go.
  process.send?.({ ready: true });
  await new Promise((resolve) => process.once('message', resolve));
  const records = await rawLoop(log, options);
  await log.close();
  process.send?.({ records }, undefined, undefined, () => process.exit(0));
}
