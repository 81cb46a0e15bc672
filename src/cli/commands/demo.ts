import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ArtifactStore } from '../../artifact/artifact-store.js';
import { buildArtifact } from '../../artifact/build-artifact.js';
import { openSqliteControlStore } from '../../control/sqlite-control-store.js';
import type { Dataset } from '../../dataset/dataset.js';
import { generateValue, seededRandom } from '../../dataset/generate.js';
import { Controller } from '../../deploy/controller.js';
import type { DeployRequestOptions } from '../../deploy/deploy-options.js';
import type { DeploymentEvent, DeploymentRecord } from '../../deploy/deployment.js';
import type { OutputDiff } from '../../deploy/output-diff.js';
import { longestGap, outputTimes } from '../../deploy/output-gaps.js';
import { openEmbeddedLog } from '../../log/embedded/embedded-log.js';
import type { AppendRecord, Log } from '../../log/log.js';
import { partitionFor } from '../../log/partitioner.js';
import { loadModule, pickDataset } from '../../project/load-module.js';
import { checkExactlyOnce } from '../../runtime/exactly-once-check.js';
import { ChildProcessSupervisor } from '../../supervisor/child-process-supervisor.js';
import { createDatasetTopic } from '../../topics/dataset-topic.js';
import { type CliContext, intOption } from '../context.js';
import { describeEvent, describeOutcome, replayCommand } from '../render-event.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/orders/', import.meta.url));

interface Row {
  label: string;
  record: DeploymentRecord;
  from: Map<number, number>;
  to: Map<number, number>;
}

/** A row's pause: the cutover's, or the replay's (the live runner paused while it replayed). */
const pauseOf = (d: DeploymentRecord): string => {
  const ms = d.summary.strategy === 'replay' ? d.summary.replayPauseMs : d.summary.cutoverPauseMs;
  return ms === undefined || ms === null ? '-' : `${ms} ms`;
};

async function committed(log: Log): Promise<Map<number, number>> {
  return new Map((await log.committedOffsets('slipway.enrich-orders')).map((o) => [o.partition, o.offset]));
}

/** A steady stream of schema-valid synthetic orders from its own connection. */
function startLoad(path: string, rate: number, orders: Dataset) {
  const { topic, schema, partitions } = orders;
  let stop = false;
  let sent = 0;
  const done = (async () => {
    const log = await openEmbeddedLog({ path, commitThread: false });
    // Created as declared (partitions, retention), as every topic Slipway makes.
    await createDatasetTopic(log, orders);
    const random = seededRandom(7);
    const started = performance.now();
    while (!stop) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate) - sent;
      if (due > 0) {
        const now = Date.now();
        const batch: AppendRecord[] = [];
        for (let i = 0; i < due; i++) {
          const value = generateValue(schema, random, { cardinality: 500 }) as { customerId: string };
          batch.push({
            partition: partitionFor(value.customerId, partitions),
            key: value.customerId,
            value: JSON.stringify(value),
            timestamp: now,
          });
        }
        await log.append(topic, batch);
        sent += due;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await log.close();
  })();
  return {
    sent: () => sent,
    stop: async () => {
      stop = true;
      await done;
      return sent;
    },
  };
}

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description(
      'The main job in one command: a local control plane, live load, v1 → v2 blue-green with a shadow diff, then a broken v3 rolled back by the gates and its dead letters replayed through the live version',
    )
    .option('--rate <n>', 'records per second of generated load', intOption('--rate', 1), 2000)
    .option('--keep', 'keep the demo folder (log, control store, artifacts) and print where it is')
    .action(async (opts: { rate: number; keep?: boolean }) => {
      const io = ctx.io;
      const started = performance.now();
      if (ctx.logConfig().engine !== 'embedded')
        io.err(
          'note: the demo always runs on a throwaway embedded log of its own, not on the Kafka cluster named by --kafka or $SLIPWAY_KAFKA_BROKERS; run the commands of the README tour with --kafka to use your cluster',
        );
      const dir = mkdtempSync(join(tmpdir(), 'slipway-demo-'));
      const logPath = join(dir, 'log.db');
      io.out(`Slipway demo — everything on the embedded log in ${dir}\n`);

      const store = new ArtifactStore({ dir: join(dir, 'artifacts') });
      const versions: Array<{ file: string; label: string }> = [
        { file: 'pipeline.ts', label: 'v1' },
        { file: 'versions/v2.ts', label: 'v2' },
        { file: 'versions/v3-broken.ts', label: 'v3 (broken)' },
      ];
      const refs = new Map<string, string>();
      for (const v of versions) {
        const built = await buildArtifact({ entry: join(EXAMPLE, v.file), cwd: EXAMPLE, store });
        refs.set(v.label, built.digest);
        io.out(
          `built ${v.label.padEnd(12)} ${built.manifest.name}@${built.manifest.version}  ${built.digest.slice(0, 19)}…`,
        );
      }

      const orders = pickDataset(await loadModule(join(EXAMPLE, 'datasets.ts')), 'orders');
      const controlStore = await openSqliteControlStore({ path: join(dir, 'control.db') });
      const controller = new Controller({
        store: controlStore,
        supervisor: new ChildProcessSupervisor({ artifactsDir: store.dir }),
        artifacts: store,
        log: { engine: 'embedded', path: logPath },
      });
      // The handoffs' windows (cutover, rollback): the output gap around each is zero downtime, measured.
      const handoffs = new Map<string, Array<{ from: number; to: number }>>();
      let began = 0;
      controller.on('event', (e: DeploymentEvent) => {
        io.out(`  ${describeEvent(e)}`);
        if ((e.step === 'cutover' || e.step === 'rollback' || e.step === 'pause-live') && e.kind === 'begin')
          began = e.at;
        if ((e.step === 'cutover' || e.step === 'rollback' || e.step === 'resume-live') && e.kind === 'end')
          handoffs.set(e.deploymentId, [...(handoffs.get(e.deploymentId) ?? []), { from: began, to: e.at }]);
      });
      const load = startLoad(logPath, opts.rate, orders);
      const log = await openEmbeddedLog({ path: logPath });
      await controller.start();
      io.out(`\nload: ${opts.rate} orders/s into ${orders.topic}, running the whole time\n`);

      const rows: Row[] = [];
      let replay: { dead: number; record: DeploymentRecord } | undefined;
      try {
        const deploy = async (label: string, options: DeployRequestOptions): Promise<void> => {
          io.out(`deploy ${label} (${options.strategy}${options.shadow ? ', shadow diff' : ''})`);
          const from = await committed(log);
          const record = await controller.wait((await controller.deploy(refs.get(label) as string, options)).id);
          await new Promise((r) => setTimeout(r, 300));
          rows.push({ label, record, from, to: await committed(log) });
          io.out(`  → ${record.status}\n`);
        };
        await deploy('v1', { strategy: 'blue-green', bakeMs: 1000 });
        await deploy('v2', {
          strategy: 'blue-green',
          shadow: { records: 1000, timeoutMs: 15_000 },
          bakeMs: 2000,
          gates: { allowChangedFields: ['amountEur', 'customerTotalEur', 'tier'] },
        });
        await deploy('v3 (broken)', { strategy: 'blue-green', bakeMs: 5000, gates: { maxDlqRatio: 0.01 } });
        // The rollback left what v3 dead-lettered behind: its summary offers the replay, and the demo runs it.
        const broken = rows.at(-1)?.record;
        if (broken?.status === 'rolled_back' && (broken.summary.deadLettered ?? 0) > 0) {
          io.out(`${describeOutcome(broken)}\n`);
          io.out(`$ ${replayCommand(broken)}`);
          const from = await committed(log);
          const started = await controller.replayDeadLetters('enrich-orders', { deployment: broken.id });
          const record = await controller.wait((started.deployment as DeploymentRecord).id);
          rows.push({ label: "v3's dead letters", record, from, to: await committed(log) });
          io.out(`  → ${describeOutcome(record)}\n`);
          replay = { dead: broken.summary.deadLettered ?? 0, record };
        }
      } finally {
        const sent = await load.stop();
        for (let i = 0; i < 200; i++) {
          const done = [...(await committed(log)).values()].reduce((a, b) => a + b, 0);
          if (done >= sent) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await controller.close();
        await controlStore.close();
      }

      const table: string[][] = [
        ['deployment', 'strategy', 'status', 'pause', 'output gap', 'lost', 'duplicated', 'diff', 'rollback'],
      ];
      const times = await outputTimes(log, 'enriched-orders.v1');
      let lostTotal = 0;
      let dupTotal = 0;
      for (const row of rows) {
        const report = await checkExactlyOnce(log, {
          input: orders.topic,
          outputs: ['enriched-orders.v1'],
          dlq: `${orders.topic}.dlq`,
          from: row.from,
          upTo: row.to,
        });
        lostTotal += report.lost;
        dupTotal += report.duplicated;
        const diff = row.record.summary.diff as OutputDiff | undefined;
        // The fields the release was allowed to change and did; the unexpected ones are in the count.
        const fields = diff
          ? Object.keys(diff.changedFields)
              .filter((f) => diff.allowedFields?.includes(f) ?? true)
              .join(', ')
          : '';
        table.push([
          `${row.label} ${row.record.artifact.version}`,
          row.record.options.strategy,
          row.record.status,
          pauseOf(row.record),
          (handoffs.get(row.record.id) ?? []).map((w) => `${longestGap(times, w.from, w.to)} ms`).join(' / ') || '-',
          String(report.lost),
          String(report.duplicated),
          diff === undefined
            ? '-'
            : `${diff.compared} compared: ${diff.identical} identical, ${diff.changedAllowed ?? 0} changed as allowed${fields ? ` (${fields})` : ''}, ${diff.changed + diff.missing + diff.extra} unexpected`,
          row.record.summary.rollbackMs === undefined ? '-' : `${row.record.summary.rollbackMs} ms`,
        ]);
      }
      const all = await checkExactlyOnce(log, {
        input: orders.topic,
        outputs: ['enriched-orders.v1'],
        dlq: `${orders.topic}.dlq`,
      });
      await log.close();
      const widths = (table[0] as string[]).map((_, i) => Math.max(...table.map((r) => (r[i] as string).length)));
      io.out('Summary');
      for (const [i, r] of table.entries()) {
        io.out(`  ${r.map((c, j) => c.padEnd(widths[j] as number)).join('  ')}`);
        if (i === 0) io.out(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
      }
      const replayed = replay?.record.summary.replay;
      const seconds = `${((performance.now() - started) / 1000).toFixed(1)} s.`;
      io.out(
        replayed === undefined
          ? `\n${all.inputs} orders in; ${all.lost} lost, ${all.duplicated} written twice, ${all.deadLettered} dead-lettered by the broken version before its rollback. ${seconds}`
          : `\n${all.inputs} orders in; ${all.deadLettered} dead-lettered by the broken version, replayed through ${replayed.version} after the rollback: ${all.lost} lost, ${all.duplicated} written twice. ${seconds}`,
      );
      if (opts.keep) io.out(`kept ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
      // Every dead letter of the broken version went through the live version once: none left, none twice.
      const unreplayed = replayed === undefined ? 0 : all.deadLettered - all.replayed;
      if (lostTotal + dupTotal + all.lost + all.duplicated + unreplayed > 0) process.exitCode = 1;
    });
}
