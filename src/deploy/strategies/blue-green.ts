import { isSlipwayError } from '../../errors.js';
import type { PartitionOffset } from '../../log/log.js';
import type { RunnerHandle } from '../../supervisor/supervisor.js';
import type {
  ArtifactRef,
  BakeOutcome,
  DeploymentRecord,
  Handoff,
  HandoffPhases,
  ShadowOutcome,
} from '../deployment.js';
import { stepError } from '../deployment-steps.js';
import { type BaselineCounts, diffGate, evaluateGates, type GateVerdict } from '../gates.js';
import { diffOutputs } from '../output-diff.js';
import { type SampleShadowDiff, sampleShadowDiff } from '../sample-shadow.js';
import { reverseLayout } from '../state-change.js';
import type { StrategyContext } from '../strategy-context.js';
import { contractAfterRetire } from './contract.js';
import { deadLetteredBy } from './replay.js';
import { runSinkShadow, type ShadowRun } from './sink-shadow-run.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sum of offsets, for progress lines. */
export const total = (offsets: PartitionOffset[]): number => offsets.reduce((n, o) => n + o.offset, 0);

/** Waits until the group's committed offsets reach `target` on every partition named. */
export async function waitForCommitted(
  ctx: StrategyContext,
  target: PartitionOffset[],
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const committed = new Map(
      (await ctx.log.committedOffsets(ctx.group)).map((o) => [`${o.topic}/${o.partition}`, o.offset]),
    );
    if (target.every((t) => (committed.get(`${t.topic}/${t.partition}`) ?? 0) >= t.offset)) return true;
    await sleep(20);
  }
  return false;
}

export const alive = (runner: RunnerHandle | undefined): runner is RunnerHandle =>
  runner !== undefined && runner.state !== 'exited';

export const sameArtifact = (a: ArtifactRef | undefined, b: ArtifactRef): boolean =>
  a !== undefined && a.digest === b.digest;

/**
 * Waits (up to `timeoutMs`) while a runner in standby still reads its state for the first time (`stats().warming`),
 * so that a cutover after it reads only the last delta. A runner that says nothing of it is warm.
 */
export async function waitUntilWarm(runner: RunnerHandle, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stats = await runner.stats().catch(() => undefined);
    if (stats?.warming !== true) return;
    await sleep(50);
  }
}

/**
 * The exact handoff: pause `from` at its committed offsets N, fence the owner, activate `to` from N.
 * If `from` is gone (crashed), its committed offsets in the log are N all the same.
 */
export async function handoff(
  ctx: StrategyContext,
  from: RunnerHandle | undefined,
  to: RunnerHandle,
  reverse?: ReverseState,
): Promise<Handoff> {
  const started = performance.now();
  const phases: HandoffPhases = { pauseMs: 0, fenceMs: 0, offsetsMs: 0, activateMs: 0 };
  let mark = started;
  const lap = (phase: keyof HandoffPhases) => {
    const now = performance.now();
    phases[phase] = Math.round((now - mark) * 10) / 10;
    mark = now;
  };
  const paused =
    from === undefined
      ? false
      : await from.pause().then(
          () => true,
          () => false,
        );
  // State of a newer layout is taken back (`down`) on the committed state, before `to` reads it: by
  // `from` itself once paused (under its own epochs, so nothing of it commits after), else below.
  let reversed =
    paused && reverse?.fromIsNewer === true ? await (from as RunnerHandle).migrateState(reverse.version) : undefined;
  lap('pauseMs');
  if (paused && reverse === undefined && to.size === 1 && [...(from?.owners ?? []), ...to.owners].every(isOwner(ctx))) {
    // `from` paused: everything it processed is committed and it commits nothing more, so the committed offsets
    // are where `to` starts. `to` fences the owner itself as it activates (fencing `from`'s session): it holds the
    // new producer session from the fence on instead of taking over the controller's (fewer requests in the pause).
    const offsets = await ctx.log.committedOffsets(ctx.group);
    lap('offsetsMs');
    await to.activate({ offsets, keyRange: null });
    lap('activateMs');
    const pauseMs = Math.round((performance.now() - started) * 10) / 10;
    const { epoch } = await to.stats();
    return { offsets, epoch, pauseMs, records: total(offsets), phases };
  }
  // Fence before reading the offsets: if `from` did not pause (it died, or its IPC broke while it
  // still runs), no commit of its can land after the offsets are read. A group of runners writes
  // under an owner per runner: each is fenced.
  for (const owner of from?.owners ?? []) if (owner !== ctx.owner) await ctx.log.fence(owner);
  const epoch = await ctx.log.fence(ctx.owner);
  if (reverse !== undefined && reversed === undefined) {
    // `from` is gone (or is not the newer version): a runner of the newer one in standby does it under this epoch.
    const runner = await ctx.startRunner(reverse.newer, 'state-migration');
    try {
      reversed = await runner.migrateState(reverse.version, epoch);
    } finally {
      await runner.stop();
    }
  }
  if (reversed !== undefined)
    await ctx.steps.info('state-migration', {
      what: 'reverse',
      from: reversed.from,
      to: reversed.to,
      reversible: true,
      partitions: reversed.partitions,
      keys: reversed.keys,
    });
  lap('fenceMs');
  const offsets = await ctx.log.committedOffsets(ctx.group);
  lap('offsetsMs');
  await to.activate({ offsets, epoch, keyRange: null });
  lap('activateMs');
  const pauseMs = Math.round((performance.now() - started) * 10) / 10;
  return { offsets, epoch, pauseMs, records: total(offsets), phases };
}

const isOwner = (ctx: StrategyContext) => (owner: string) => owner === ctx.owner;

/** A state layout to take back at a handoff from a newer version to an older one. */
export interface ReverseState {
  /** The older version's layout. */
  version: number;
  /** The artifact whose `migrateState.down` takes it back. */
  newer: ArtifactRef;
  /** Whether the runner handed from runs `newer` (it then migrates itself once paused). */
  fromIsNewer: boolean;
}

/** The reverse migration of a handoff from a runner of `from` to one of `to`, when their layouts differ. */
export async function reverseState(
  ctx: StrategyContext,
  from: ArtifactRef,
  to: ArtifactRef,
  runs: ArtifactRef | undefined,
): Promise<ReverseState | undefined> {
  const version = reverseLayout(await ctx.manifestOf(from), await ctx.manifestOf(to));
  return version === undefined ? undefined : { version, newer: from, fromIsNewer: sameArtifact(runs, from) };
}

/** Shadow run + diff, and the sample diff when live input is too sparse; the gates' verdict on them. */
async function shadowPhase(ctx: StrategyContext, record: DeploymentRecord): Promise<ShadowOutcome> {
  const { manifest, steps } = ctx;
  const shadowOpts = record.options.shadow ?? { records: 1000 };
  const attempt = steps.record.summary.shadowAttempts ?? 0;
  await steps.summarize({ shadowAttempts: attempt + 1 });
  const shadowId = `${record.id.replace(/[^A-Za-z0-9_-]/g, '')}-${attempt + 1}`;
  const allowChangedFields = record.options.gates?.allowChangedFields;
  const timeoutMs = shadowOpts.timeoutMs ?? 10_000;
  const shadow = await ctx.startRunner(record.artifact, 'shadow', { mode: 'shadow', shadowId });
  try {
    // A sink pipeline's shadow writes a shadow table, diffed with the live table by source.
    const { diff, stats, caughtUp } =
      manifest.sink === undefined
        ? await topicShadow(ctx, shadow, shadowId, shadowOpts.records, timeoutMs, allowChangedFields)
        : await runSinkShadow(ctx, shadow, shadowId, {
            records: shadowOpts.records,
            timeoutMs,
            ...(allowChangedFields ? { allowChangedFields } : {}),
            caughtUp: (end) => waitForCommitted(ctx, end, 30_000),
          });
    // One look at what the shadow did: a gate that saw too little is inconclusive, not pending.
    const gates: GateVerdict[] = [
      diffGate(diff, record.options.gates),
      ...evaluateGates({ green: stats, final: true }, record.options.gates).filter((g) => g.gate !== 'lag'),
    ];
    // Too little live input to judge the release: the project's representative samples stand in.
    let sampleDiff: SampleShadowDiff | undefined;
    const previous = record.previous;
    if (diff.compared < shadowOpts.records && shadowOpts.samples !== undefined && previous !== null) {
      sampleDiff = await sampleDiffOf(ctx, previous, shadowOpts.samples, shadowId);
      if (sampleDiff !== undefined) gates.push(diffGate(sampleDiff, record.options.gates, 'sample-diff-ratio'));
    }
    if (!caughtUp)
      gates.push({
        gate: 'lag',
        ok: false,
        status: 'fail',
        value: 'blue behind',
        limit: 'caught up',
        records: null,
        baselineRecords: null,
        inconclusive: false,
        message: 'lag: blue did not reach the shadow range in 30 s',
      });
    return {
      ok: gates.every((g) => g.ok),
      shadowInputs: stats.inputs,
      diff,
      ...(sampleDiff === undefined ? {} : { sampleDiff }),
      gates,
    };
  } finally {
    await shadow.stop();
    // Everything the shadow wrote under its own names goes: nothing is left to grow or to alert on.
    await ctx.removeShadow(shadowId).catch(() => undefined);
  }
}

/** The shadow run of a pipeline writing topics: its output topics diffed with blue's by source. */
async function topicShadow(
  ctx: StrategyContext,
  shadow: RunnerHandle,
  shadowId: string,
  records: number,
  timeoutMs: number,
  allowChangedFields: string[] | undefined,
): Promise<ShadowRun> {
  const { manifest, log } = ctx;
  const partitions = [...new Set(manifest.inputs.flatMap((d) => Array.from({ length: d.partitions }, (_, p) => p)))];
  const snap = await log.snapshot({
    group: ctx.group,
    namespace: manifest.name,
    partitions,
    topics: manifest.outputs.map((d) => d.topic),
  });
  await shadow.activate({ offsets: snap.offsets, state: snap.state });
  const deadline = Date.now() + timeoutMs;
  let stats = await shadow.stats();
  while (stats.inputs < records && Date.now() < deadline && stats.state === 'running') {
    await sleep(50);
    stats = await shadow.stats();
  }
  const end = await shadow.pause();
  stats = await shadow.stats();
  const caughtUp = await waitForCommitted(ctx, end, 30_000);
  // Outputs in a registry format are decoded (live and shadow alike), so the diff names the fields that changed.
  const reader = await ctx.outputReader(
    manifest.outputs.flatMap((d) => [
      { topic: d.topic, dataset: d },
      { topic: `${d.topic}.shadow.${shadowId}`, dataset: d },
    ]),
  );
  const diff = await diffOutputs({
    log: reader,
    outputs: manifest.outputs.map((d) => ({
      live: d.topic,
      shadow: `${d.topic}.shadow.${shadowId}`,
      liveFrom: snap.endOffsets,
    })),
    from: snap.offsets,
    to: end,
    ...(allowChangedFields ? { allowChangedFields } : {}),
  });
  return { diff, stats, caughtUp };
}

/** Both versions over the project's samples, each in a runner of its own (never activated). */
async function sampleDiffOf(
  ctx: StrategyContext,
  previous: ArtifactRef,
  samplesRoot: string,
  shadowId: string,
): Promise<SampleShadowDiff | undefined> {
  const record = ctx.steps.record;
  // Own owners and groups, never fenced nor committed: these runners only run the sample through their core.
  const side = (name: string) => ({
    owner: `slipway.${record.pipeline}.sample.${shadowId}.${name}`,
    group: `slipway.${record.pipeline}.sample.${shadowId}.${name}`,
  });
  const blue = await ctx.startRunner(previous, 'sample-blue', side('blue'));
  try {
    const green = await ctx.startRunner(record.artifact, 'sample-green', side('green'));
    try {
      const allowChangedFields = record.options.gates?.allowChangedFields;
      return await sampleShadowDiff({
        blue,
        green,
        manifest: ctx.manifest,
        samplesRoot,
        ...(allowChangedFields ? { allowChangedFields } : {}),
      });
    } finally {
      await green.stop();
    }
  } finally {
    await blue.stop();
  }
}

/**
 * Watches green's figures for the bake time (or a canary step's); resolves with the gates' verdict. A
 * gate fails only on evidence (see gates.ts); `baseline` gives blue's counts over comparable input,
 * which green's DLQ ratio is also compared with.
 */
export async function bake(
  ctx: StrategyContext,
  green: RunnerHandle | undefined,
  record: DeploymentRecord,
  bakeMs = record.options.bakeMs ?? 2000,
  phase = 'the bake',
  baseline: () => Promise<BaselineCounts | undefined> = async () => undefined,
): Promise<BakeOutcome> {
  const deadline = Date.now() + bakeMs;
  let requested = false;
  void ctx.rollbackRequested.then(() => {
    requested = true;
  });
  for (;;) {
    const final = Date.now() >= deadline;
    const stats = await green?.stats().catch(() => undefined);
    let results = evaluateGates({ green: stats, baseline: await baseline(), final }, record.options.gates);
    if (stats === undefined)
      results = results.map((g) =>
        g.gate === 'runner' ? { ...g, message: `runner: green exited during ${phase}` } : g,
      );
    if (requested) return { ok: false, requested: true, gates: results, failedAt: Date.now() };
    if (results.some((g) => !g.ok)) return { ok: false, gates: results, failedAt: Date.now() };
    if (final) return { ok: true, gates: results };
    await sleep(100);
  }
}

/**
 * Blue-green: green starts in standby → optional shadow run diffed against blue → cutover at an
 * exact offset (pause blue at N, fence, activate green from N) → bake with gates → blue stopped, or
 * rolled back at an exact offset (pause green at M, fence, activate blue from M). A cutover that
 * fails (a runner died in it) rolls back too: the pipeline is never left without a live runner.
 * Resumable: each phase looks at what the control store recorded.
 */
export async function runBlueGreen(ctx: StrategyContext): Promise<DeploymentRecord> {
  const { steps } = ctx;
  const record = steps.record;
  const previous = record.previous;
  // What decides the outcome: the bake's verdict, or a failed cutover's (both as recorded, on a resume).
  let verdict: BakeOutcome | undefined =
    steps.ended('bake') ?? (steps.began('rollback') ? { ok: false, gates: [], reason: 'cutover failed' } : undefined);
  // A cutover killed after it switched the release, before it recorded its end, is done all the
  // same: the restarted controller runs the new version as the live runner.
  const cutOver =
    steps.ended('cutover') !== undefined ||
    (steps.began('cutover') && sameArtifact(ctx.liveArtifact(), record.artifact));

  if (verdict === undefined && !cutOver) {
    const blue = ctx.live();
    const green = await ctx.startRunner(record.artifact, 'green', {}, ctx.runners());
    await steps.info('start-green', { runner: green.spec.id, pid: green.pid ?? null });
    if (record.options.shadow !== undefined && blue !== undefined) {
      const shadow = steps.ended('shadow') ?? (await steps.run('shadow', () => shadowPhase(ctx, record)));
      await steps.summarize({
        diff: shadow.diff,
        ...(shadow.sampleDiff === undefined ? {} : { sampleDiff: shadow.sampleDiff }),
        shadowGates: shadow.gates,
      });
      if (shadow.ok !== true) {
        await green.stop();
        return steps.finish('aborted', { reason: 'shadow gates failed before cutover', gates: shadow.gates });
      }
    }
    // Green loads its state in standby (Kafka: the changelog read): wait for it here, not inside the pause.
    await waitUntilWarm(green);
    // Blue's last minute, just before it pauses: what green's DLQ ratio is compared with during the bake.
    const blueStats = await blue?.stats().catch(() => undefined);
    if (blueStats !== undefined)
      await steps.summarize({ baseline: { processed: blueStats.recent.processed, dlq: blueStats.recent.dlq } });
    // A first release takes over whatever offsets the group has: say so when something committed before.
    const committedBefore = blue === undefined ? total(await ctx.log.committedOffsets(ctx.group)) : 0;
    try {
      const cut = await steps.run(
        'cutover',
        async () => {
          // An older version deployed over a newer layout: blue takes state back before green reads it.
          const reverse =
            previous === null ? undefined : await reverseState(ctx, previous, record.artifact, ctx.liveArtifact());
          const result = await handoff(ctx, blue, green, reverse);
          await ctx.setLive(green, record.artifact);
          return result;
        },
        { blue: blue?.spec.id ?? null, ...(committedBefore > 0 ? { committedBefore } : {}) },
      );
      await steps.summarize({ cutoverPauseMs: cut.pauseMs, cutoverAt: cut.offsets });
    } catch (err) {
      // A runner died mid-handoff: blue may be paused or gone, green may be running. Back to blue,
      // with green stopped first so that it cannot commit past the offsets the rollback starts from.
      if (previous === null) throw err;
      await green.stop();
      verdict = { ok: false, gates: [], reason: 'cutover failed', error: stepError(err), failedAt: Date.now() };
    }
    ctx.warm = blue;
  } else if (verdict === undefined && previous !== null) {
    // Resumed after cutover: green is live (the controller restarted it); bring blue back, warm.
    ctx.warm = await ctx.startRunner(previous, 'blue', {}, ctx.runners());
  }

  return bakeThenFinish(ctx, verdict);
}

/**
 * After a cutover (new version live, the previous one warm in `ctx.warm`): bake with gates, then
 * complete, or roll back at an exact offset. `verdict` is the outcome already known (a resumed
 * deployment's recorded bake, or a failed cutover). Shared by blue-green and canary.
 */
export async function bakeThenFinish(ctx: StrategyContext, known: BakeOutcome | undefined): Promise<DeploymentRecord> {
  const { steps } = ctx;
  const record = steps.record;
  const previous = record.previous;
  const baseline = steps.record.summary.baseline;
  const verdict =
    known ??
    (await steps.run('bake', () => bake(ctx, ctx.live(), record, undefined, 'the bake', async () => baseline)));
  if (verdict.ok === true) {
    if (ctx.warm !== undefined) await ctx.warm.stop();
    ctx.warm = undefined;
    // Blue is retired: the contract migrations the deployment left pending run now.
    return steps.finish('completed', { gates: verdict.gates, ...(await contractAfterRetire(ctx)) });
  }

  if (previous === null) {
    return steps.finish('failed', {
      reason: 'gates failed and there is no previous version to roll back to',
      gates: verdict.gates,
    });
  }
  const failedAt = verdict.failedAt ?? Date.now();
  // The new version migrated state: the rollback takes it back with `down` (none: it cannot roll back).
  const reverse = await reverseState(ctx, record.artifact, previous, ctx.liveArtifact());
  if (reverse !== undefined && (await ctx.manifestOf(record.artifact)).stateMigration?.reversible !== true) {
    return steps.finish('failed', {
      reason:
        'gates failed, and the new version migrated state without a down migration: it stays live (deployed with --irreversible-state)',
      gates: verdict.gates,
    });
  }
  const back = await steps.run('rollback', async () => {
    // Blue as kept warm, or a new one if it died: it starts from the committed offsets either way.
    let warm = alive(ctx.warm) ? ctx.warm : await ctx.startRunner(previous, 'blue', {}, ctx.runners());
    const current = ctx.live();
    let result: Handoff;
    await waitUntilWarm(warm);
    try {
      result = await handoff(ctx, current, warm, reverse);
    } catch (err) {
      // The warm blue died as it was handed the pipeline (its exit not yet seen above): use a new one.
      if (!isSlipwayError(err, 'SLIPWAY_RUNNER_EXITED')) throw err;
      warm = await ctx.startRunner(previous, 'blue', {}, ctx.runners());
      result = await handoff(ctx, current, warm, reverse);
    }
    await ctx.setLive(warm, previous);
    ctx.warm = current === warm ? undefined : current;
    // Rollback time: from the gate failing to blue committing output again (or 2 s without input).
    const resumedAt = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => resolve(Date.now()), 2000);
      warm.once('commit', () => {
        clearTimeout(timer);
        resolve(Date.now());
      });
    });
    return { offsets: result.offsets, epoch: result.epoch, pauseMs: result.pauseMs, rollbackMs: resumedAt - failedAt };
  });
  if (ctx.warm !== undefined) await ctx.warm.stop();
  ctx.warm = undefined;
  // What the version rolled back dead-lettered, for its summary to offer a replay through the live version.
  const deadLettered = await deadLetteredBy(ctx.log, ctx.manifest, record).catch(() => undefined);
  return steps.finish('rolled_back', {
    reason: verdict.requested === true ? 'rollback requested' : (verdict.reason ?? 'gates failed during bake'),
    gates: verdict.gates,
    ...(verdict.error === undefined ? {} : { error: verdict.error }),
    rollbackMs: back.rollbackMs,
    ...(deadLettered === undefined ? {} : { deadLettered }),
  });
}
