import { isSlipwayError, SlipwayError } from '../../errors.js';
import type { PartitionOffset } from '../../log/log.js';
import type { RunnerHandle } from '../../supervisor/supervisor.js';
import type { ArtifactRef, BakeOutcome, CanaryStep, DeploymentRecord } from '../deployment.js';
import { stepError } from '../deployment-steps.js';
import { type BaselineCounts, countsSince } from '../gates.js';
import { alignedOffsets, isBehind } from '../offset-barrier.js';
import type { StrategyContext } from '../strategy-context.js';
import { bake, bakeThenFinish, sameArtifact, total } from './blue-green.js';
import { deadLetteredBy } from './replay.js';

/** Percent of keys green gets at each step when the deployment names none. */
export const DEFAULT_CANARY_STEPS: readonly number[] = [1, 10, 50, 100];

const BUCKETS = 10_000;
type KeyRange = { from: number; to: number };

/** Green's key buckets at a share (percent): [0, share × 100). */
export const greenRange = (share: number): KeyRange => ({ from: 0, to: Math.round(share * 100) });
/** Blue's: the rest (`null`, every key, at 0 %). */
export const blueRange = (share: number): KeyRange | null =>
  share === 0 ? null : { from: Math.round(share * 100), to: BUCKETS };

/**
 * Checks canary steps once, at the boundary: percentages in (0, 100], strictly increasing; 100 is
 * appended when the last step stops short of it (a canary ends with green owning every key).
 */
export function canarySteps(steps: readonly unknown[] | undefined): number[] {
  const list = steps ?? DEFAULT_CANARY_STEPS;
  if (!Array.isArray(list) || list.length === 0) {
    throw new SlipwayError('SLIPWAY_USAGE', 'Canary steps must be a non-empty list of percentages, e.g. 1,10,50,100.');
  }
  const out: number[] = [];
  for (const [i, s] of list.entries()) {
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0 || s > 100 || Math.round(s * 100) !== s * 100) {
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `Canary step ${i + 1} is ${JSON.stringify(s)}: each step is a percentage of keys above 0 and at most 100 (two decimals at most), e.g. 1,10,50,100.`,
        { details: { field: `canary.steps[${i}]` } },
      );
    }
    if (out.length > 0 && s <= (out.at(-1) as number)) {
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `Canary steps must grow: step ${i + 1} (${s} %) is not above step ${i} (${out.at(-1)} %).`,
        { details: { field: `canary.steps[${i}]` } },
      );
    }
    out.push(s);
  }
  if (out.at(-1) !== 100) out.push(100);
  return out;
}

interface Barrier {
  share: number;
  offsets: PartitionOffset[];
}

/**
 * Canary: a growing share of keys (a stable hash bucket of the record key) goes to green while blue
 * keeps the rest; both read every input partition and write the same outputs. Every change of
 * share is an **offset barrier**: both sides pause, the one behind runs to the other's offsets, the
 * barrier is recorded, and only then do both resume with the new shares — so each input record is
 * processed by exactly one side. Green runs under its own owner and consumer group; at 100 % it
 * takes over the live owner and group from the barrier (the cutover), then bakes like blue-green.
 * A failing gate (or `slipway rollback`) is a barrier back to 0 %: blue takes every key again.
 *
 * Crash-safe: the last recorded barrier says which side owns which keys, and both sides' committed
 * offsets are at or past it, so a restarted controller resumes each side from its own offsets.
 */
export async function runCanary(ctx: StrategyContext): Promise<DeploymentRecord> {
  const { steps, log } = ctx;
  const record = steps.record;
  const previous = record.previous;
  if (previous === null) {
    return steps.finish('failed', { reason: 'a canary needs a live version to split keys with' });
  }
  const shares = canarySteps(record.options.canary?.steps);
  const stepMs = record.options.canary?.stepMs ?? 2000;
  const canaryOwner = `${ctx.owner}.canary`;
  const canaryGroup = `${ctx.group}.canary.${record.id}`;

  const cutOver =
    steps.ended('canary-cutover') !== undefined ||
    (steps.began('canary-cutover') && sameArtifact(ctx.liveArtifact(), record.artifact));
  if (cutOver) {
    // Resumed after the cutover: green is live (the controller restarted it); bring blue back, warm.
    if (steps.ended('bake') === undefined && !steps.began('rollback'))
      ctx.warm = await ctx.startRunner(previous, 'blue');
    return bakeThenFinish(ctx, steps.ended('bake'));
  }

  let share = (steps.lastInfo('barrier') as Barrier | undefined)?.share ?? 0;
  const pauses: number[] = ((record.summary.canaryPausesMs as number[] | undefined) ?? []).slice();

  // Each side is started with the key share it owns now (a revived side catches up with it).
  const startBlue = async (): Promise<RunnerHandle> => {
    const range = blueRange(share);
    const runner = await ctx.startRunner(previous, 'blue', range === null ? {} : { keyRange: range });
    ctx.adoptLive(runner, previous);
    return runner;
  };
  const startGreen = (): Promise<RunnerHandle> =>
    ctx.startRunner(record.artifact, 'canary', {
      owner: canaryOwner,
      group: canaryGroup,
      ...(share > 0 ? { keyRange: greenRange(share) } : {}),
    });

  let blue = ctx.live();
  let green: RunnerHandle | undefined;
  // Sides (re)started and not activated since: where they stand is their group's committed offsets.
  const fresh = new Set<RunnerHandle>();
  if (blue === undefined || blue.state === 'exited') {
    // A resume (the controller left this pipeline to us) or blue died: each side from its own offsets.
    blue = await startBlue();
    if (share < 100) await blue.activate({ keyRange: blueRange(share) });
    else fresh.add(blue);
  }
  if (share > 0 && share < 100) {
    green = await startGreen();
    await green.activate({ keyRange: greenRange(share) });
  }

  /** Where a side that is not running stands: fenced first, so a straggler of it cannot move it on. */
  const standing = async (side: 'blue' | 'green'): Promise<PartitionOffset[]> => {
    await log.fence(side === 'blue' ? ctx.owner : canaryOwner);
    return log.committedOffsets(side === 'blue' ? ctx.group : canaryGroup);
  };
  /** A side that died: a new runner takes its place, in standby, with the share the side owns. */
  const revive = async (side: 'blue' | 'green'): Promise<PartitionOffset[]> => {
    const runner = side === 'blue' ? await startBlue() : await startGreen();
    if (side === 'blue') blue = runner;
    else green = runner;
    fresh.add(runner);
    return standing(side);
  };
  const pauseSide = async (side: 'blue' | 'green'): Promise<PartitionOffset[]> => {
    const runner = side === 'blue' ? blue : green;
    if (runner !== undefined && fresh.has(runner)) {
      if (runner.state !== 'exited') return standing(side);
      // Started and never activated, then died (killed inside a barrier): a new one takes its place.
      fresh.delete(runner);
      return revive(side);
    }
    if (runner === undefined || runner.state === 'exited') return revive(side);
    try {
      return await runner.pause();
    } catch (err) {
      if (!isSlipwayError(err, 'SLIPWAY_RUNNER_EXITED') && !isSlipwayError(err, 'SLIPWAY_RUNNER_FAILED')) throw err;
      await runner.stop().catch(() => {});
      return revive(side);
    }
  };

  /**
   * A command to a side's runner. When the runner is gone, waits for its process to exit before
   * rethrowing, so the next attempt at the barrier sees the side dead and revives it.
   */
  const command = async <T>(runner: RunnerHandle, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      if (isSlipwayError(err, 'SLIPWAY_RUNNER_EXITED') || isSlipwayError(err, 'SLIPWAY_RUNNER_FAILED'))
        await runner.stop().catch(() => {});
      throw err;
    }
  };

  /**
   * The offset barrier to `target` percent: both sides paused at the same offsets M (the one behind
   * runs to M with its old share), M recorded, then each resumes from M with its new share. At 100 %
   * nobody resumes here: the cutover hands green the live owner.
   */
  const moveTo = async (target: number): Promise<{ offsets: PartitionOffset[]; pauseMs: number }> => {
    const started = performance.now();
    const a = await pauseSide('blue');
    // At 0 % green owns no keys: where it stands does not matter, it starts at blue's offsets.
    const b = share === 0 ? undefined : await pauseSide('green');
    const m = b === undefined ? a : alignedOffsets(a, b);
    const catchUp: Array<Promise<unknown>> = [];
    for (const [runner, at] of [
      [blue, a],
      [green, b],
    ] as const) {
      if (runner === undefined || at === undefined || !isBehind(at, m)) continue;
      catchUp.push(command(runner, () => runner.runUntil(m)).then(() => fresh.delete(runner)));
    }
    await Promise.all(catchUp);
    if (share === 0 && target > 0) {
      // Green's group starts at M, committed now: a restarted green resumes from it, never from 0.
      const epoch = await log.fence(canaryOwner);
      await log.commit({ owner: canaryOwner, epoch, offsets: { group: canaryGroup, offsets: m } });
    }
    await steps.info('barrier', { share: target, offsets: m } satisfies Barrier);
    share = target;
    if (target < 100) {
      const b = blue as RunnerHandle;
      await command(b, () => b.activate({ offsets: m, keyRange: blueRange(target) }));
      fresh.delete(b);
    }
    if (target > 0 && target < 100) {
      if (green === undefined || green.state === 'exited') green = await startGreen();
      const g = green;
      await command(g, () => g.activate({ offsets: m, keyRange: greenRange(target) }));
      fresh.delete(g);
    }
    const pauseMs = Math.round((performance.now() - started) * 10) / 10;
    return { offsets: m, pauseMs };
  };

  const stopGreen = async (): Promise<void> => {
    // Fenced first: whatever green still has in flight can never commit.
    await log.fence(canaryOwner);
    await green?.stop();
    green = undefined;
  };

  let verdict: BakeOutcome | undefined;
  // The share green had when it failed: the rollback moves `share` back to 0 before the summary is written.
  let failedShare = share;
  let blueAtStart: BaselineCounts | undefined;
  try {
    if (!steps.began('rollback')) {
      for (const s of shares) {
        const step: CanaryStep = `canary-${s}`;
        if (s === 100 || steps.ended(step) !== undefined) continue;
        const result = await steps.run(
          step,
          async () => {
            // Green starts (a few seconds) before the barrier, not inside its pause.
            if (green === undefined || green.state === 'exited') {
              green = await startGreen();
              fresh.add(green);
              await steps.info('start-green', { runner: green.spec.id, pid: green.pid ?? null });
            }
            const moved = share === s ? undefined : await moveTo(s);
            if (moved !== undefined) {
              pauses.push(moved.pauseMs);
              await steps.summarize({ canaryShare: s, canaryPausesMs: pauses });
            }
            // Blue's counts since green began, on its share of keys in the same period: green's baseline.
            if (blueAtStart === undefined) {
              const b = await blue?.stats().catch(() => undefined);
              if (b !== undefined) blueAtStart = { processed: b.processed, dlq: b.dlq };
            }
            const watched = await bake(ctx, green, record, stepMs, `the canary step at ${s} %`, async () => {
              const b = await blue?.stats().catch(() => undefined);
              return b === undefined || blueAtStart === undefined ? undefined : countsSince(b, blueAtStart);
            });
            return {
              share: s,
              ...(moved === undefined ? {} : { at: total(moved.offsets), ...moved }),
              ...watched,
            };
          },
          { share: s },
        );
        if (result.ok !== true) {
          verdict = result;
          failedShare = s;
          break;
        }
      }
    }
  } catch (err) {
    if (ctx.closing()) throw err;
    // A step that could not complete (a runner kept dying): back to blue rather than stay split.
    failedShare = share;
    verdict = {
      ok: false,
      gates: [],
      reason: `the canary step at ${share} % could not complete`,
      error: stepError(err),
      failedAt: Date.now(),
    };
  }

  if (verdict === undefined && !steps.began('rollback')) {
    const cut = await steps.run(
      'canary-cutover',
      async () => {
        if (green === undefined || green.state === 'exited') {
          green = await startGreen();
          fresh.add(green);
        }
        const started = performance.now();
        if (share !== 100) pauses.push((await moveTo(100)).pauseMs);
        // The cutover: green takes over the live owner and group from the barrier. Fencing the owner
        // first means blue (paused at M, or a zombie of it) can never commit again.
        const epoch = await log.fence(ctx.owner);
        await log.fence(canaryOwner);
        const offsets = await log.committedOffsets(ctx.group);
        if (green === undefined || green.state === 'exited') green = await startGreen();
        await green.activate({ offsets, epoch, owner: ctx.owner, group: ctx.group, keyRange: null });
        await ctx.setLive(green, record.artifact);
        const pauseMs = Math.round((performance.now() - started) * 10) / 10;
        return { share: 100 as const, offsets, epoch, pauseMs, records: total(offsets) };
      },
      { share: 100 },
    );
    await steps.summarize({
      canaryShare: 100,
      canaryPausesMs: pauses,
      cutoverPauseMs: cut.pauseMs,
      cutoverAt: cut.offsets,
    });
    ctx.warm = blue;
    green = undefined; // live now: the controller owns it
    return bakeThenFinish(ctx, undefined);
  }

  // Roll back before the cutover: a barrier back to 0 %, blue takes every key, green is fenced.
  const failedAt = verdict?.failedAt ?? Date.now();
  const back = await steps.run('rollback', async () => {
    let moved: Awaited<ReturnType<typeof moveTo>> | undefined;
    for (let attempt = 1; moved === undefined; attempt++) {
      try {
        moved = await moveTo(0);
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    await stopGreen();
    const live = blue as RunnerHandle;
    const resumedAt = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => resolve(Date.now()), 2000);
      live.once('commit', () => {
        clearTimeout(timer);
        resolve(Date.now());
      });
    });
    return { offsets: moved.offsets, pauseMs: moved.pauseMs, rollbackMs: resumedAt - failedAt };
  });
  await steps.summarize({ canaryShare: 0 });
  const deadLettered = await deadLetteredBy(ctx.log, ctx.manifest, record).catch(() => undefined);
  return steps.finish('rolled_back', {
    reason:
      verdict === undefined
        ? 'resumed rollback'
        : verdict.requested === true
          ? 'rollback requested'
          : (verdict.reason ?? `gates failed at ${failedShare} % of keys`),
    ...(verdict?.gates === undefined ? {} : { gates: verdict.gates }),
    ...(verdict?.error === undefined ? {} : { error: verdict.error }),
    rollbackMs: back.rollbackMs,
    ...(deadLettered === undefined ? {} : { deadLettered }),
  });
}

/** For the controller: whether a resumed canary deployment, not yet cut over, starts blue itself. */
export function canaryOwnsBlue(record: DeploymentRecord, live: ArtifactRef | undefined): boolean {
  return record.options.strategy === 'canary' && record.status === 'running' && !sameArtifact(live, record.artifact);
}
