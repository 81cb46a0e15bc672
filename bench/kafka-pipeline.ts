// The map pipeline of bench/kafka.ts as a module runner processes load (built into an artifact by the bench). Its
// topics are per bench run: the bench sets SLIPWAY_BENCH_KAFKA_LEG (`<run>-<n>`) before it builds the artifact, and
// the runner processes it starts inherit it, so the bundle names the same topics in both.
import { defineDataset, definePipeline } from 'slipway';
import { benchIn, benchOut } from './common.js';

/** The input, output and pipeline of one bench leg: input `bench-in-<run>`, the rest named by `<run>-<n>`. */
export function kafkaBenchPipeline(run: string, leg: string, partitions: number) {
  const input = defineDataset({
    name: `bench-in-${run}`,
    version: '1.0.0',
    key: 'userId',
    partitions,
    schema: benchIn.schema,
  });
  const output = defineDataset({
    name: `bench-out-${leg}`,
    version: '1.0.0',
    key: 'userId',
    partitions,
    schema: benchOut.schema,
  });
  const pipeline = definePipeline({
    name: `bench-map-${leg}`,
    version: '1.0.0',
    inputs: [input],
    outputs: [output],
    process(r: { amount: number }, ctx) {
      ctx.emit(output, { ...r, amountCents: Math.round(r.amount * 100) });
    },
  });
  return { input, output, pipeline };
}

const leg = process.env.SLIPWAY_BENCH_KAFKA_LEG ?? 'unset-0';
/** The leg's pipeline, for `buildArtifact` and the runner processes. */
export const kafkaBenchMap = kafkaBenchPipeline(leg.slice(0, leg.lastIndexOf('-')), leg, 4).pipeline;
