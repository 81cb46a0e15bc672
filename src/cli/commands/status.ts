import type { Command } from 'commander';
import { ControlPlaneClient } from '../../control/client.js';
import type { EnvironmentMatrix, MatrixCell } from '../../environment/matrix.js';
import type { CliContext } from '../context.js';
import { intOption } from '../context.js';
import { printTable } from '../io.js';
import { describeEvent, describeOutcome } from '../render-event.js';

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

const ago = (ms: number): string =>
  ms < 60_000
    ? `${Math.round(ms / 1000)}s`
    : ms < 3_600_000
      ? `${Math.round(ms / 60_000)}m`
      : `${(ms / 3_600_000).toFixed(1)}h`;

/** The pipelines × environments matrix: one row per pipeline, one column per environment. */
function printMatrix(ctx: CliContext, matrix: EnvironmentMatrix, json: boolean): void {
  if (json) return void ctx.io.out(JSON.stringify(matrix, null, 2));
  if (matrix.pipelines.length === 0)
    return void ctx.io.out(
      `nothing deployed yet in ${matrix.environments.join(', ')}: \`slipway deploy --env ${matrix.environments[0]} <artifact>\``,
    );
  const now = Date.now();
  const cell = (c: MatrixCell | undefined): string => {
    if (c === undefined) return '-';
    const live = c.digest === null ? 'none' : `${c.version} ${c.digest.slice(7, 19)}`;
    const since = c.since === null ? '' : ` ${ago(now - c.since)}`;
    const state =
      c.state === 'soaking' && c.soakMs !== undefined
        ? `soaking ${ago(c.healthyMs ?? 0)}/${ago(c.soakMs)}`
        : c.state === 'deploying' || c.state === 'failed'
          ? `${c.state} ${c.deployment?.version ?? ''}`.trim()
          : c.state;
    return `${live}${since} ${state}`;
  };
  printTable(
    ctx.io,
    ['PIPELINE', ...matrix.environments.map((e) => e.toUpperCase())],
    matrix.pipelines.map((p) => [
      p,
      ...matrix.environments.map((e) => cell(matrix.cells.find((c) => c.pipeline === p && c.environment === e))),
    ]),
  );
}

export function registerStatus(program: Command, ctx: CliContext): void {
  const client = (opts: { controlPlane?: string }) =>
    ControlPlaneClient.find(ctx.stateDir(), opts.controlPlane, ctx.environment()?.name);
  program
    .command('status')
    .description('What is live, its runners, what happened to them lately, and deployments in progress')
    .option('--control-plane <url>', 'control plane URL (default: the daemon of this project)')
    .option('--json', 'print JSON')
    .action(async (opts: { controlPlane?: string; json?: boolean }) => {
      const c = client(opts);
      if (ctx.environment() === undefined) {
        const health = await c.health();
        if (health.environments.length > 1) return printMatrix(ctx, await c.matrix(), opts.json === true);
      }
      const status = await c.status();
      if (opts.json) return void ctx.io.out(JSON.stringify(status, null, 2));
      if (status.releases.length === 0) ctx.io.out('nothing deployed yet: `slipway deploy <artifact>`');
      for (const r of status.releases) {
        const live = status.runners.find((x) => x.pipeline === r.pipeline);
        const s = live?.stats;
        ctx.io.out(
          `${r.pipeline}@${r.artifact.version}  ${r.artifact.digest.slice(0, 19)}  ${r.runners} runner${r.runners === 1 ? '' : 's'}  since ${new Date(r.updatedAt).toISOString()}`,
        );
        if (live === undefined) {
          ctx.io.out('  not running');
          continue;
        }
        if (live.fencedSince !== null)
          ctx.io.out(
            `  FENCED since ${clock(live.fencedSince)}: another writer took the pipeline over on the log (a \`slipway run\`?); see the events below`,
          );
        for (const m of live.members) ctx.io.out(`  runner ${m.id}  pid ${m.pid ?? '-'}  ${m.state}`);
        if (s !== null && s !== undefined)
          ctx.io.out(
            `  in ${s.inputs}  out ${s.outputs}  dlq ${s.dlq}  lag ${s.lag}  p99 ${s.p99LatencyMs === null ? '-' : `${s.p99LatencyMs} ms`}`,
          );
        const waiting = s?.registryUnavailable;
        if (waiting !== undefined)
          ctx.io.out(
            `  WAITING for the schema registry since ${clock(waiting.since)} (${waiting.attempts} attempts): ${waiting.code}: ${waiting.message}; nothing is dead-lettered or lost`,
          );
      }
      for (const d of status.active)
        ctx.io.out(`deploying ${d.id}: ${d.pipeline}@${d.artifact.version} (${d.options.strategy}) at step ${d.step}`);
      const recent = status.events.slice(-10);
      if (recent.length > 0) {
        ctx.io.out('recent runner events:');
        for (const e of recent) ctx.io.out(`  ${clock(e.at)}  ${e.pipeline}  ${e.message}`);
      }
    });

  program
    .command('history')
    .description('Past deployments, or the step-by-step events of one (with why it failed)')
    .argument('[deployment]', 'a deployment id for its events')
    .option('--control-plane <url>', 'control plane URL (default: the daemon of this project)')
    .option('-n, --limit <n>', 'how many deployments', intOption('--limit', 1), 20)
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, opts: { controlPlane?: string; limit: number; json?: boolean }) => {
      const c = client(opts);
      if (id !== undefined) {
        const { deployment, events } = await c.deployment(id);
        if (opts.json) return void ctx.io.out(JSON.stringify({ deployment, events }, null, 2));
        ctx.io.out(
          `${deployment.id}  ${deployment.pipeline}@${deployment.artifact.version}  ${deployment.options.strategy}  ${deployment.status}`,
        );
        for (const e of events) ctx.io.out(describeEvent(e));
        if (deployment.status !== 'running' && deployment.status !== 'completed')
          ctx.io.out(describeOutcome(deployment));
        return;
      }
      const list = await c.deployments({ limit: opts.limit });
      if (opts.json) return void ctx.io.out(JSON.stringify(list, null, 2));
      if (list.length === 0) return void ctx.io.out('no deployments yet');
      printTable(
        ctx.io,
        ['DEPLOYMENT', 'PIPELINE', 'STRATEGY', 'STATUS', 'PAUSE', 'STARTED', 'WHY'],
        list.map((d) => [
          d.id,
          `${d.pipeline}@${d.artifact.version}`,
          d.options.strategy,
          d.status,
          d.summary.cutoverPauseMs === undefined || d.summary.cutoverPauseMs === null
            ? '-'
            : `${d.summary.cutoverPauseMs} ms`,
          new Date(d.createdAt).toISOString(),
          d.status === 'completed' || d.status === 'running'
            ? ''
            : describeOutcome(d).slice(d.id.length + d.status.length + 3),
        ]),
      );
    });
}
