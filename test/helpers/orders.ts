import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Log, openEmbeddedLog, partitionFor } from 'slipway';
import { orders } from '../../examples/orders/datasets.js';

export interface TempLog {
  log: Log;
  dir: string;
  path: string;
  cleanup(): Promise<void>;
}

/** A throwaway embedded log in its own folder. */
export async function tempLog(prefix = 'slipway-test-'): Promise<TempLog> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, 'log.db');
  const log = await openEmbeddedLog({ path });
  return {
    log,
    dir,
    path,
    cleanup: async () => {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const CURRENCIES = ['EUR', 'USD', 'GBP'] as const;

export interface Order {
  orderId: string;
  customerId: string;
  amount: number | string;
  currency: string;
  items: number;
  createdAt: string;
  email?: string;
}

/** A deterministic order: customer `c<i % customers>`. */
export function makeOrder(i: number, customers = 50): Order {
  return {
    orderId: `o-${i}`,
    customerId: `c${i % customers}`,
    amount: ((i * 7919) % 50000) / 100,
    currency: CURRENCIES[i % 3] as string,
    items: 1 + (i % 5),
    createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  };
}

/** Appends orders, partitioned by key as the runner would, in batches. */
export async function produceOrders(log: Log, from: number, count: number, customers = 50): Promise<void> {
  await log.createTopic(orders.topic, { partitions: orders.partitions });
  const batch = 5000;
  for (let start = from; start < from + count; start += batch) {
    const records = [];
    for (let i = start; i < Math.min(from + count, start + batch); i++) {
      const value = makeOrder(i, customers);
      const key = String(value.customerId);
      records.push({ partition: partitionFor(key, orders.partitions), key, value: JSON.stringify(value) });
    }
    await log.append(orders.topic, records);
  }
}

/** Reads a whole topic (every partition). */
export async function readAll(log: Log, topic: string) {
  const info = await log.describeTopic(topic);
  if (info === undefined) return [];
  const out = [];
  for (let p = 0; p < info.partitions; p++) {
    let offset = 0;
    for (;;) {
      const records = await log.read(topic, p, offset, 10_000);
      if (records.length === 0) break;
      out.push(...records);
      offset = (records.at(-1)?.offset ?? offset) + 1;
    }
  }
  return out;
}
