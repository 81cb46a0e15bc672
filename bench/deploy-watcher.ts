// Child process of bench/deploy.ts (--engine kafka): a plain read_committed consumer of the output topic — the
// @platformatic/kafka Consumer, not a Slipway runner — that notes when committed records reach it, until its stdin
// closes; then prints one JSON line: the arrival times (ms, one per ms at most, sorted) and the records it read.
// argv: <brokers, comma-separated> <topic> <group>.
import { Consumer } from '@platformatic/kafka';

const [brokers = '', topic = '', group = ''] = process.argv.slice(2);
const consumer = new Consumer({
  clientId: group,
  bootstrapBrokers: brokers.split(','),
  groupId: group,
  isolationLevel: 1, // READ_COMMITTED
  maxWaitTime: 500,
  minBytes: 1,
});
const arrivals: number[] = [];
let records = 0;
let stop = false;
process.stdin.on('close', () => {
  stop = true;
  void stream.close();
});
process.stdin.resume();
const stream = await consumer.consume({ topics: [topic], mode: 'latest', autocommit: false });
// Ready: the bench starts its deployments once the consumer is fetching.
process.stderr.write('watcher: consuming\n');
for await (const _ of stream) {
  records++;
  const now = Date.now();
  if (now !== arrivals.at(-1)) arrivals.push(now);
  if (stop) break;
}
await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
process.stdout.write(`${JSON.stringify({ records, arrivals })}\n`);
