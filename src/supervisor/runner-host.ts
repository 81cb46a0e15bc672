// A runner in its own process: the supervisor forks this file and drives it over IPC (see protocol.ts).
// When the parent goes away (IPC disconnect) the runner finishes its batch, commits and exits: a new
// controller restarts runners from the committed offsets, and fencing keeps any straggler from writing.
import { loadModule, pickPipeline } from '../cli/project.js';
import type { Log } from '../log/log.js';
import { openLog } from '../log/open-log.js';
import { type CommitEvent, type DlqEvent, Runner } from '../runtime/runner.js';
import type { RunnerCommand, RunnerMessage, RunnerSpec, RunnerStats } from './protocol.js';

let runner: Runner | undefined;
let log: Log | undefined;
const totals = { inputs: 0, processed: 0, outputs: 0, dlq: 0, commits: 0, lastCommitAt: 0 };
let recentLatencies: number[] = [];
// Latency counts only records appended after activation: a backlog from before says nothing of this version.
let activatedAt = Number.POSITIVE_INFINITY;

function send(msg: RunnerMessage): void {
  // The callback takes a failed write (the controller died since `connected` was read): the
  // 'disconnect' handler below stops the runner cleanly, instead of an 'error' event killing it.
  if (process.connected) process.send?.(msg, undefined, undefined, () => {});
}

async function start(spec: RunnerSpec): Promise<void> {
  const module = await loadModule(spec.module);
  const pipeline = pickPipeline(module, spec.pipeline);
  log = await openLog(spec.log ?? { engine: 'embedded', path: spec.logPath }, { commitThread: true });
  runner = new Runner({
    pipeline,
    log,
    config: spec.config,
    ...(spec.mode === undefined ? {} : { mode: spec.mode }),
    ...(spec.shadowId === undefined ? {} : { shadowId: spec.shadowId }),
    ...(spec.owner === undefined ? {} : { owner: spec.owner }),
    ...(spec.group === undefined ? {} : { group: spec.group }),
    ...(spec.batchSize === undefined ? {} : { batchSize: spec.batchSize }),
    ...(spec.assignment === undefined ? {} : { assignment: spec.assignment }),
    ...(spec.keyRange === undefined ? {} : { keyRange: spec.keyRange }),
  });
  runner.on('state', (state) => {
    if (state === 'running') activatedAt = Math.min(activatedAt, Date.now());
    send({ event: 'state', state });
  });
  runner.on('commit', (e: CommitEvent) => {
    totals.inputs += e.inputs;
    totals.processed += e.processed;
    totals.outputs += e.outputs;
    totals.dlq += e.dlq;
    totals.commits++;
    totals.lastCommitAt = e.committedAt;
    let max = 0;
    for (const ts of e.inputTimestamps) {
      if (ts < activatedAt) continue;
      const l = e.committedAt - ts;
      if (l > max) max = l;
      if (recentLatencies.length < 20_000) recentLatencies.push(l);
    }
    send({
      event: 'commit',
      inputs: e.inputs,
      outputs: e.outputs,
      dlq: e.dlq,
      committedAt: e.committedAt,
      maxLatencyMs: max,
    });
  });
  runner.on('dlq', (e: DlqEvent) => send({ event: 'dlq', ...e }));
  // A runner that fails stops processing; say why where an operator looks (the daemon's output).
  runner.on('error', (err: unknown) => {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`[${spec.id}] runner failed: ${e?.code ?? ''} ${e?.message ?? String(err)}\n`);
  });
  await runner.start();
}

async function stats(): Promise<RunnerStats> {
  const r = runner as Runner;
  const lag = r.state === 'created' ? 0 : (await r.lag()).reduce((n, p) => n + p.lag, 0);
  const sorted = recentLatencies.sort((a, b) => a - b);
  const p99 =
    sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number);
  recentLatencies = [];
  return { state: r.state, epoch: r.epoch, ...totals, p99LatencyMs: p99, lag, offsets: r.offsets() };
}

async function handle(msg: RunnerCommand): Promise<unknown> {
  switch (msg.cmd) {
    case 'start':
      return start(msg.spec);
    case 'activate':
      return (runner as Runner).activate({
        ...(msg.offsets === undefined ? {} : { offsets: msg.offsets }),
        ...(msg.epoch === undefined ? {} : { epoch: msg.epoch }),
        ...(msg.state === undefined ? {} : { state: msg.state }),
        ...(msg.keyRange === undefined ? {} : { keyRange: msg.keyRange }),
        ...(msg.owner === undefined ? {} : { owner: msg.owner }),
        ...(msg.group === undefined ? {} : { group: msg.group }),
      });
    case 'pause':
      return (runner as Runner).pause();
    case 'runUntil':
      return (runner as Runner).runUntil(msg.offsets, msg.epoch === undefined ? {} : { epoch: msg.epoch });
    case 'stats':
      return stats();
    case 'metrics': {
      // Its Prometheus metrics as JSON, the lag gauge fresh, for the supervisor to aggregate.
      const r = runner as Runner;
      if (r.state !== 'created') await r.lag();
      return r.metrics.registry.getMetricsAsJSON();
    }
    case 'stop':
      await runner?.stop();
      await log?.close();
      setImmediate(() => process.exit(0));
      return undefined;
  }
}

process.on('message', (msg: RunnerCommand) => {
  handle(msg).then(
    (result) => send({ reply: msg.id, ok: true, result }),
    (err: unknown) => {
      const e = err as { code?: string; message?: string; details?: Record<string, unknown> };
      send({
        reply: msg.id,
        ok: false,
        error: {
          ...(e?.code === undefined ? {} : { code: e.code }),
          message: e?.message ?? String(err),
          ...(e?.details ? { details: e.details } : {}),
        },
      });
    },
  );
});

process.on('disconnect', () => {
  const stopping = runner?.stop() ?? Promise.resolve();
  stopping
    .catch(() => {})
    .then(() => log?.close())
    .finally(() => process.exit(0));
});

// Ctrl-C in a terminal signals the whole process group, this runner too: its supervisor decides when
// it stops (it finishes the batch in flight and commits), and a runner whose supervisor is gone
// stops on 'disconnect' above.
process.on('SIGINT', () => {});
