import type { DeploymentRecord } from '../deployment.js';
import type { StrategyContext } from '../strategy-context.js';
import { handoff, total } from './blue-green.js';

/**
 * Scale: the live version goes from its runner processes to `runners` of them, each owning a share
 * of the input partitions that the controller assigns. The new set starts in standby; then the same
 * exact handoff as a cutover: the old set pauses at its committed offsets N, every owner it wrote
 * under is fenced, the new set is activated from N, each runner from its partitions' offsets.
 * Nothing is read twice or skipped, and a runner of the old set can never commit again.
 * Resumable: a controller killed after the release recorded the new count has nothing left to do.
 */
export async function runScale(ctx: StrategyContext): Promise<DeploymentRecord> {
  const { steps } = ctx;
  const record = steps.record;
  const target = record.options.runners ?? 1;
  if (steps.ended('handoff') !== undefined || (steps.began('handoff') && ctx.runners() === target)) {
    return steps.finish('completed', { runners: target });
  }
  const from = ctx.live();
  const next = await ctx.startRunner(record.artifact, 'live', {}, target);
  await steps.info('start-runners', { runners: target, pid: next.pid ?? null });
  let cut: { pauseMs: number };
  try {
    cut = await steps.run('handoff', async () => {
      const result = await handoff(ctx, from, next);
      await ctx.setLive(next, record.artifact);
      return {
        runners: target,
        offsets: result.offsets,
        epoch: result.epoch,
        pauseMs: result.pauseMs,
        records: total(result.offsets),
      };
    });
  } catch (err) {
    // A runner died in the handoff: back to the old set from the committed offsets (if it died
    // too, the controller restarts it as the live version once this deployment ends).
    await next.stop();
    if (from !== undefined && from.state !== 'exited') await handoff(ctx, undefined, from).catch(() => {});
    throw err;
  }
  await from?.stop();
  return steps.finish('completed', { runners: target, cutoverPauseMs: cut.pauseMs });
}
