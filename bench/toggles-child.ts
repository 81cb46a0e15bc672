// A runner process of bench:toggles: runs the toggled map pipeline over its partitions and prints, for each
// toggle version it picks up, `toggles <version> <ms since the epoch>`.
import { openEmbeddedLog, Runner } from 'slipway';
import { benchIn } from './common.js';
import { toggledMapPipeline } from './toggles-pipeline.js';

const [path, partition] = process.argv.slice(2);
const log = await openEmbeddedLog({ path: path as string, commitThread: true });
const runner = new Runner({
  pipeline: toggledMapPipeline,
  log,
  assignment: [{ topic: benchIn.topic, partition: Number(partition) }],
  owner: `bench.toggled.${partition}`,
  group: `bench.toggled.${partition}`,
});
runner.on('toggles', (version: number) => process.stdout.write(`toggles ${version} ${Date.now()}\n`));
runner.on('state', (state: string) => {
  if (state === 'running') process.stdout.write('running\n');
});
await runner.start();
await runner.activate();
process.on('SIGTERM', async () => {
  await runner.stop();
  await log.close();
  process.exit(0);
});
