import { SlipwayError } from '../../errors.js';
import type { FinishInfo } from '../deployment.js';
import { stepError } from '../deployment-steps.js';
import type { StrategyContext } from '../strategy-context.js';

/**
 * The contract of expand-and-contract, once blue is retired: the destructive migration steps the deployment
 * left pending-contract run now (recorded in the datastore's ledger, and as the deployment's `contract`
 * step). Never while blue lives — it is the rollback window, and blue may still write what they drop. A
 * failure leaves green live and the steps pending (for `slipway datastores apply --allow-destructive`).
 * Resumable: a contract recorded as ended is not run again.
 */
export async function contractAfterRetire(ctx: StrategyContext): Promise<FinishInfo> {
  const { steps } = ctx;
  if (ctx.contract === undefined) return {};
  const done = steps.ended('contract');
  if (done !== undefined) return { contract: done };
  try {
    if (ctx.warm !== undefined && ctx.warm.state !== 'exited')
      throw new SlipwayError(
        'SLIPWAY_INVALID_STATE',
        'Contract migrations are run only once the previous version is retired; it still runs. They stay pending.',
      );
    const pending = await ctx.contract.pending();
    if (pending.length === 0) return {};
    const contract = ctx.contract;
    return { contract: await steps.run('contract', () => contract.apply(), { steps: pending }) };
  } catch (err) {
    return { contractError: stepError(err) };
  }
}
