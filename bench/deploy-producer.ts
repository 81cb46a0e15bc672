// Child process of bench/deploy.ts: appends orders at a steady rate until its stdin closes.
// argv: <log config as JSON> <rate> <topic>.
import { type AppendRecord, partitionFor } from 'slipway';
import { orders } from '../examples/orders/datasets.js';
import { type LogConfig, openLog } from '../src/log/open-log.js';

const [config, rateArg, topic = orders.topic] = process.argv.slice(2);
const rate = Number(rateArg);
const log = await openLog(JSON.parse(config as string) as LogConfig);
await log.createTopic(topic, { partitions: orders.partitions });
let stop = false;
process.stdin.on('close', () => {
  stop = true;
});
process.stdin.resume();
const CURRENCIES = ['EUR', 'USD', 'GBP'] as const;
const started = performance.now();
let sent = 0;
while (!stop) {
  // At most 2,000 records an append: behind schedule on a loaded machine, one append of everything due is
  // more than Kafka takes in one request (MESSAGE_TOO_LARGE).
  const due = Math.min(2000, Math.floor(((performance.now() - started) / 1000) * rate) - sent);
  if (due > 0) {
    const now = Date.now();
    const batch: AppendRecord[] = [];
    for (let i = sent; i < sent + due; i++) {
      const customerId = `c${i % 2000}`;
      const value = {
        orderId: `o-${i}`,
        customerId,
        amount: ((i * 7919) % 50000) / 100,
        currency: CURRENCIES[i % 3],
        items: 1 + (i % 5),
        createdAt: new Date(Date.UTC(2026, 0, 1) + i * 10).toISOString(),
      };
      batch.push({
        partition: partitionFor(customerId, orders.partitions),
        key: customerId,
        value: JSON.stringify(value),
        timestamp: now,
      });
    }
    await log.append(topic, batch);
    sent += due;
  }
  await new Promise((r) => setTimeout(r, 2));
}
await log.close();
// How long it appended, so the bench can tell the rate it got from the rate it asked for (a loaded machine falls
// behind).
process.stdout.write(`${JSON.stringify({ sent, seconds: (performance.now() - started) / 1000 })}\n`);
