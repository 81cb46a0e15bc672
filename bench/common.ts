import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { type AppendRecord, defineDataset, definePipeline, type Log, partitionFor } from 'slipway';

/** The benchmark's input: records of about 200 bytes. */
export const benchIn = defineDataset({
  name: 'bench-in',
  version: '1.0.0',
  key: 'userId',
  partitions: 4,
  schema: Type.Object({
    id: Type.String(),
    userId: Type.String(),
    amount: Type.Number(),
    currency: Type.String(),
    country: Type.String(),
    ts: Type.Integer(),
    note: Type.String(),
  }),
});

export const benchOut = defineDataset({
  name: 'bench-out',
  version: '1.0.0',
  key: 'userId',
  partitions: 4,
  schema: Type.Object({
    id: Type.String(),
    userId: Type.String(),
    amount: Type.Number(),
    currency: Type.String(),
    country: Type.String(),
    ts: Type.Integer(),
    note: Type.String(),
    amountCents: Type.Integer(),
  }),
});

type BenchIn = {
  id: string;
  userId: string;
  amount: number;
  currency: string;
  country: string;
  ts: number;
  note: string;
};

/** The map of the benchmarks: the input with a field added, built as an object literal naming its fields. */
export function addCents(r: BenchIn) {
  return {
    id: r.id,
    userId: r.userId,
    amount: r.amount,
    currency: r.currency,
    country: r.country,
    ts: r.ts,
    note: r.note,
    amountCents: Math.round(r.amount * 100),
  };
}

/** The same map written with a spread, as many would write it (see the README on why it is slower on Node 20). */
export function addCentsSpread(r: BenchIn) {
  return { ...r, amountCents: Math.round(r.amount * 100) };
}

/** The trivial map pipeline: parse, add a field, emit (the output built as a literal, as the README advises). */
export const mapPipeline = definePipeline({
  name: 'bench-map',
  version: '1.0.0',
  inputs: [benchIn],
  outputs: [benchOut],
  process(r, ctx) {
    ctx.emit(benchOut, addCents(r));
  },
});

/** The same pipeline with the output spread from the input (`{ ...r, amountCents }`). */
export const spreadMapPipeline = definePipeline({
  name: 'bench-map-spread',
  version: '1.0.0',
  inputs: [benchIn],
  outputs: [benchOut],
  process(r, ctx) {
    ctx.emit(benchOut, addCentsSpread(r));
  },
});

export function benchRecord(i: number): Record<string, unknown> {
  return {
    id: `evt-${String(i).padStart(9, '0')}`,
    userId: `user-${i % 10_000}`,
    amount: (i % 100_000) / 100,
    currency: ['EUR', 'USD', 'GBP'][i % 3],
    country: ['DE', 'FR', 'NL', 'GB', 'US'][i % 5],
    ts: 1_790_000_000_000 + i,
    note: 'lorem ipsum dolor sit amet, consectetur adipiscing elit sed do eiusmod tempor',
  };
}

export async function produceBench(log: Log, count: number, from = 0): Promise<number> {
  await log.createTopic(benchIn.topic, { partitions: benchIn.partitions });
  let bytes = 0;
  for (let start = from; start < from + count; start += 10_000) {
    const batch: AppendRecord[] = [];
    for (let i = start; i < Math.min(from + count, start + 10_000); i++) {
      const value = JSON.stringify(benchRecord(i));
      bytes += value.length;
      const key = `user-${i % 10_000}`;
      batch.push({ partition: partitionFor(key, benchIn.partitions), key, value });
    }
    await log.append(benchIn.topic, batch);
  }
  return bytes / count;
}

export function tempDir(prefix: string): { dir: string; path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, path: join(dir, 'log.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
