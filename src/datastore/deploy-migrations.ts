import { SlipwayError } from '../errors.js';
import type { DatastorePlan, PendingStep } from './migration-plan.js';
import { canonicalType } from './statement-safety.js';
import type { Table } from './table.js';

/**
 * Migrations with deployments, expand-and-contract: what the new version (green) needs of its tables while
 * the live one (blue) still runs. Additive steps (the expand) run before green starts; destructive ones (the
 * contract) only once blue is retired. A deployment whose green needs a destructive step that blue cannot run
 * with is refused before anything starts.
 */

export interface DeployStep {
  readonly table: string;
  readonly version: number;
  readonly description: string;
  readonly reasons: readonly string[];
}

export interface BlockedStep extends DeployStep {
  /** Why green cannot start without it while blue runs. */
  readonly why: string;
}

export interface DeployMigrationPlan {
  /** Additive steps: run before green starts (blue lives with them). */
  readonly expand: readonly DeployStep[];
  /** Destructive steps green can start without: left for after blue is retired (recorded as pending-contract). */
  readonly contract: readonly DeployStep[];
  /** Destructive steps green needs while blue still runs: the deployment is refused. */
  readonly blocked: readonly BlockedStep[];
}

const step = (table: string, p: PendingStep): DeployStep => ({
  table,
  version: p.version,
  description: p.description,
  reasons: p.reasons,
});

/**
 * Why green's declaration of a table cannot run on blue's shape (the table before the contract): a column
 * blue fills NOT NULL that green no longer writes, a column whose type changed, another primary key.
 * Undefined when green runs on it.
 */
function greenNeedsContract(blue: Table, green: Table): string | undefined {
  const greens = new Map(green.columns.map((c) => [c.name, c]));
  for (const b of blue.columns) {
    const g = greens.get(b.name);
    if (g === undefined && !b.nullable)
      return `green no longer writes ${b.name}, which is NOT NULL until the step drops it`;
    if (g !== undefined && canonicalType(g.type) !== canonicalType(b.type))
      return `green writes ${b.name} as ${canonicalType(g.type)}, blue as ${canonicalType(b.type)}`;
  }
  if (blue.primaryKey.join(',') !== green.primaryKey.join(','))
    return `green's primary key (${green.primaryKey.join(', ')}) differs from blue's (${blue.primaryKey.join(', ')})`;
  return undefined;
}

/**
 * Classifies the pending steps of green's tables (from `plan`, made with green's declarations) for a
 * deployment over blue (`blue`: the tables of the live version; none for a first deployment).
 *
 * @example
 * const plan = await planDatastore(client, { schema, tables: greenTables });
 * const steps = planDeployMigrations({ blue: blueTables, green: greenTables, plan });
 * checkDeployMigrations(steps, 'enrich-orders 1.3.0'); // throws SLIPWAY_MIGRATION_BLOCKS_DEPLOY when blocked
 */
export function planDeployMigrations(input: {
  blue: readonly Table[];
  green: readonly Table[];
  plan: DatastorePlan;
}): DeployMigrationPlan {
  const expand: DeployStep[] = [];
  const contract: DeployStep[] = [];
  const blocked: BlockedStep[] = [];
  for (const t of input.plan.tables) {
    const cut = t.pending.findIndex((p) => p.safety === 'destructive');
    const head = cut === -1 ? t.pending : t.pending.slice(0, cut);
    const tail = cut === -1 ? [] : t.pending.slice(cut);
    expand.push(...head.map((p) => step(t.table, p)));
    if (tail.length === 0) continue;
    const destructive = tail.filter((p) => p.safety === 'destructive');
    const laterAdditive = tail.filter((p) => p.safety === 'additive');
    const blue = input.blue.find((b) => b.name === t.table);
    const green = input.green.find((g) => g.name === t.table);
    let why: string | undefined;
    if (laterAdditive.length > 0)
      why = `green needs step${laterAdditive.length === 1 ? '' : 's'} ${laterAdditive.map((p) => p.version).join(', ')}, which come${laterAdditive.length === 1 ? 's' : ''} after it`;
    else if (blue !== undefined && green !== undefined) why = greenNeedsContract(blue, green);
    if (why !== undefined && blue !== undefined)
      blocked.push(...destructive.map((p) => ({ ...step(t.table, p), why })));
    else if (why !== undefined)
      // The live version does not use the table: nothing running suffers the step, but it stays explicit.
      blocked.push(
        ...destructive.map((p) => ({
          ...step(t.table, p),
          why: `${why}; run \`slipway datastores apply --allow-destructive\` before deploying`,
        })),
      );
    else contract.push(...tail.map((p) => step(t.table, p)));
  }
  return { expand, contract, blocked };
}

/** Refuses a deployment with blocked steps: `SLIPWAY_MIGRATION_BLOCKS_DEPLOY`, with the advice to split it. */
export function checkDeployMigrations(plan: DeployMigrationPlan, deploying: string): void {
  if (plan.blocked.length === 0) return;
  throw new SlipwayError(
    'SLIPWAY_MIGRATION_BLOCKS_DEPLOY',
    `${deploying} needs destructive migration steps the live version cannot run with: ${plan.blocked.map((b) => `${b.table} step ${b.version} (${b.reasons.join(', ')}: ${b.why})`).join('; ')}. Split the change into expand and contract: first deploy a version whose steps only add (new columns nullable or with a default, new tables) and that writes both shapes; once it is live and the old version retired, deploy the destructive steps as the contract (\`slipway datastores apply --allow-destructive\`). Nothing was started.`,
    { details: { blocked: plan.blocked } },
  );
}
