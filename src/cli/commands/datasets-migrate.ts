import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildArtifact } from '../../artifact/build-artifact.js';
import { BUNDLE_FILE, shortDigest } from '../../artifact/manifest.js';
import { ControlPlaneClient } from '../../control/client.js';
import { SlipwayError } from '../../errors.js';
import type { Log } from '../../log/log.js';
import { type BridgeProgressEvent, watchBridgeProgress } from '../../runtime/bridge-progress.js';
import { runPipeline } from '../../testing/run-pipeline.js';
import type { CliContext } from '../context.js';
import { storeFromOption } from './artifacts.js';
import { follow } from './deploy.js';

/** `slipway datasets migrate orders --to 2 [--down]`: the bridge between two majors, deployed or run here once. */
export function registerDatasetsMigrate(datasets: Command, ctx: CliContext): void {
  datasets
    .command('migrate')
    .description(
      'Move a dataset to a new major without a flag day: run its upcast bridge (or --down, its downcast bridge) as an ordinary pipeline that fills the new topic from the old one, history first, then live — deployed to the control plane, or with --until-caught-up run here once',
    )
    .argument('<dataset>', 'e.g. orders')
    .requiredOption('--to <major>', 'the major to bridge into (its definition declares upcast)')
    .option('--down', 'the downcast bridge: from the new major back into the one it upcasts from')
    .option('--datasets <module>', 'module exporting the datasets (default: datasets.ts)', 'datasets.ts')
    .option(
      '--until-caught-up',
      'run the bridge here, once, until it has carried every record there is (no control plane)',
    )
    .option('--allow-untested', 'deploy the bridge without a test report (a local control plane only)')
    .option('--control-plane <url>', 'the control plane')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as {
        to: string;
        down?: boolean;
        datasets: string;
        untilCaughtUp?: boolean;
        allowUntested?: boolean;
        controlPlane?: string;
        store?: string;
      };
      const major = Number(String(opts.to).replace(/^v/, ''));
      if (!Number.isInteger(major) || major < 1)
        throw new SlipwayError('SLIPWAY_USAGE', `--to must be a major version like 2, got '${opts.to}'.`);
      const module = resolve(opts.datasets);
      if (!existsSync(module))
        throw new SlipwayError(
          'SLIPWAY_FILE_NOT_FOUND',
          `${opts.datasets} does not exist: pass --datasets <module exporting ${name}@${major}>.`,
        );
      const direction = opts.down ? 'down' : 'up';
      const dir = join(dirname(module), '.slipway', 'bridges');
      await mkdir(dir, { recursive: true });
      const entry = join(dir, `${name}-v${major}-${direction}.ts`);
      const from = relative(dir, module).split('\\').join('/').replace(/\.ts$/, '.js');
      await writeFile(
        entry,
        [
          '// Written by `slipway datasets migrate`: the bridge of a dataset between two majors.',
          "import { bridgePipeline, isDataset, SlipwayError } from 'slipway';",
          `import * as datasets from '${from.startsWith('.') ? from : `./${from}`}';`,
          `const target = Object.values(datasets).find((d) => isDataset(d) && d.name === ${JSON.stringify(name)} && d.major === ${major});`,
          `if (target === undefined) throw new SlipwayError('SLIPWAY_DATASET_NOT_FOUND', ${JSON.stringify(
            `${opts.datasets} exports no ${name} of major ${major}: export its defineDataset({ name: '${name}', version: '${major}.0.0', upcast: … }), or pass --datasets <module that does>.`,
          )}, { details: { dataset: ${JSON.stringify(name)}, major: ${major} } });`,
          `export const bridge = bridgePipeline(target, '${direction}');`,
          '',
        ].join('\n'),
      );
      const store = storeFromOption(ctx, opts.store);
      const built = await buildArtifact({ entry, store, cwd: dirname(module) });
      const m = built.manifest;
      ctx.io.err(
        `bridge ${m.name}@${m.version} ${shortDigest(built.digest)}: ${m.inputs[0]?.topic} → ${m.outputs[0]?.topic}`,
      );
      const input = m.inputs[0];
      const output = m.outputs[0];
      if (input === undefined || output === undefined)
        throw new SlipwayError('SLIPWAY_INVALID_DEFINITION', `The bridge ${m.name} has no input or output.`);
      if (opts.untilCaughtUp) {
        const log = await ctx.openLog();
        try {
          const loaded = await store.load(built.digest);
          for (const d of [...loaded.pipeline.inputs, ...loaded.pipeline.outputs])
            if ((await log.describeTopic(d.topic)) === undefined)
              await log.createTopic(d.topic, { partitions: d.partitions });
          const progress = await showProgress(ctx, log, input, output.topic, `slipway.${m.name}`);
          progress.start();
          const result = await runPipeline({ pipeline: loaded.pipeline, log, until: 'caught-up' }).catch(
            async (err: unknown) => {
              await progress.stop();
              throw err;
            },
          );
          await progress.done;
          ctx.io.out(
            `carried ${result.outputs} record${result.outputs === 1 ? '' : 's'} from ${input.topic} to ${output.topic} (${result.inputs} read, ${result.dlq} dead-lettered)`,
          );
        } finally {
          await log.close();
        }
        return;
      }
      const client = ControlPlaneClient.find(ctx.stateDir(), opts.controlPlane);
      if (!(await client.hasArtifact(built.digest)))
        await client.uploadArtifact(m, await readFile(join(built.dir, BUNDLE_FILE)));
      // The history is what the old topic holds now; the progress is read from the log the bridge runs on.
      const log = await ctx.openLog();
      try {
        const progress = await showProgress(ctx, log, input, output.topic, `slipway.${m.name}`);
        try {
          const deployment = await client.deploy({
            artifact: built.digest,
            ...(opts.allowUntested ? { allowUntested: true } : {}),
          });
          ctx.io.err(`deploying the bridge: ${deployment.id}`);
          progress.start();
          await follow(ctx, client, deployment.id);
        } catch (err) {
          await progress.stop();
          throw err;
        }
        await progress.done;
      } finally {
        await log.close();
      }
    });
}

/**
 * Prints the bridge's progress (`watchBridgeProgress`) on stderr as it comes, from `start()`: the history
 * copied of its total, per partition, then `live`. The history is fixed when called (before the bridge
 * runs). `done` resolves after `live`; `stop()` ends it early.
 */
async function showProgress(
  ctx: CliContext,
  log: Log,
  input: { topic: string; partitions: number },
  to: string,
  group: string,
): Promise<{ start(): void; done: Promise<void>; stop(): Promise<void> }> {
  const abort = new AbortController();
  const events = watchBridgeProgress({
    log,
    topic: input.topic,
    partitions: input.partitions,
    group,
    signal: abort.signal,
  });
  const first = await events.next();
  const print = (e: BridgeProgressEvent) => {
    if (e.kind === 'live') {
      ctx.io.err(
        `live: ${to} holds the ${e.total} record${e.total === 1 ? '' : 's'} of ${input.topic}'s history; the bridge carries new ones as they come`,
      );
      return;
    }
    const pct = e.total === 0 ? 100 : Math.floor((e.copied / e.total) * 100);
    ctx.io.err(
      `history ${input.topic} → ${to}: ${e.copied}/${e.total} records (${pct}%)  ${e.partitions.map((p) => `p${p.partition} ${p.copied}/${p.total}`).join(' ')}`,
    );
  };
  let started: () => void = () => {};
  const go = new Promise<void>((r) => {
    started = r;
  });
  const done = (async () => {
    await go;
    if (first.done || abort.signal.aborted) return;
    print(first.value);
    for await (const e of { [Symbol.asyncIterator]: () => events }) {
      if (abort.signal.aborted) break;
      print(e);
    }
  })();
  return {
    start: started,
    done,
    stop: async () => {
      abort.abort();
      started();
      await done.catch(() => {});
    },
  };
}
