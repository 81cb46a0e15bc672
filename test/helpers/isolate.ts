import { type Dataset, defineDataset, definePipeline, type Pipeline } from 'slipway';

/**
 * A pipeline under dataset names of its own (`<name>-<id>`), for runs on a shared Kafka cluster: its
 * inputs and outputs are copies of the originals with the suffix, and its `process` is the original's
 * with emits redirected. The same `id` gives the same definitions in every process (a test, the
 * controller it starts, the runner processes that load the module).
 */
export function isolatePipeline(pipeline: Pipeline, id: string): Pipeline {
  const copies = new Map<Dataset, Dataset>();
  const copy = (d: Dataset): Dataset => {
    let c = copies.get(d);
    if (c === undefined) {
      c = isolateDataset(d, id);
      copies.set(d, c);
    }
    return c;
  };
  const original = pipeline.process as (value: unknown, ctx: Parameters<Pipeline['process']>[1]) => void;
  return definePipeline({
    name: `${pipeline.name}-${id}`,
    version: pipeline.version,
    stateVersion: pipeline.stateVersion,
    inputs: pipeline.inputs.map(copy),
    outputs: pipeline.outputs.map(copy),
    ...(pipeline.configSchema === undefined
      ? {}
      : { config: pipeline.configSchema as unknown as Parameters<typeof definePipeline>[0]['config'] }),
    process(value, ctx) {
      const emit = ((dataset: Dataset, out: unknown) =>
        ctx.emit(copies.get(dataset) ?? dataset, out)) as typeof ctx.emit;
      original(value, { ...ctx, emit } as Parameters<Pipeline['process']>[1]);
    },
  }) as Pipeline;
}

/** A dataset's copy named `<name>-<id>` (topic `<name>-<id>.v<major>`). */
export function isolateDataset(d: Dataset, id: string): Dataset {
  return defineDataset({
    name: `${d.name}-${id}`,
    version: d.version,
    key: d.key,
    partitions: d.partitions,
    schema: d.schema,
  });
}

/** The isolation id a test sets for the modules its processes load. */
export function isolationId(): string {
  const id = process.env.SLIPWAY_TEST_ISOLATION;
  if (id === undefined || id === '')
    throw new Error('SLIPWAY_TEST_ISOLATION is not set (the test sets it before loading)');
  return id;
}
