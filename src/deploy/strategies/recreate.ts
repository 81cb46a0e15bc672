import type { DeploymentRecord } from '../deployment.js';
import type { StrategyContext } from '../strategy-context.js';
import { contractAfterRetire } from './contract.js';

/** Recreate: stop blue, then start green from the committed offsets — the naive baseline, kept to measure against. */
export async function runRecreate(ctx: StrategyContext): Promise<DeploymentRecord> {
  const { steps } = ctx;
  const record = steps.record;
  if (steps.ended('start-green') === undefined) {
    const started = performance.now();
    await steps.run('stop-blue', async () => {
      const blue = ctx.live();
      await blue?.stop();
      for (const owner of blue?.owners ?? []) await ctx.log.fence(owner);
      return {};
    });
    await steps.run('start-green', async () => {
      const green = await ctx.startRunner(record.artifact, 'green', {}, ctx.runners());
      const epoch = await ctx.log.fence(ctx.owner);
      await green.activate({ epoch });
      await ctx.setLive(green, record.artifact);
      return { epoch, pauseMs: Math.round(performance.now() - started) };
    });
  }
  // Blue was stopped first: the contract migrations the deployment left pending run now.
  return steps.finish('completed', {
    cutoverPauseMs: steps.ended('start-green')?.pauseMs ?? null,
    ...(await contractAfterRetire(ctx)),
  });
}
