import { join } from 'node:path';
import type { ArtifactStore } from '../artifact/artifact-store.js';
import { importBundle } from '../artifact/import-bundle.js';
import { BUNDLE_FILE } from '../artifact/manifest.js';
import { connectDatastore } from '../datastore/connection.js';
import {
  checkDeployMigrations,
  type DeployMigrationPlan,
  planDeployMigrations,
} from '../datastore/deploy-migrations.js';
import { applyMigrations } from '../datastore/migration-apply.js';
import { ensureLedger, recordPendingContract, tableSteps } from '../datastore/migration-ledger.js';
import { planDatastore } from '../datastore/migration-plan.js';
import { isTable, type Table } from '../datastore/table.js';
import type { ArtifactRef } from '../deploy/deployment.js';
import { SlipwayError } from '../errors.js';
import { isPipeline } from '../pipeline/pipeline.js';
import { resolveDatastore, tablesOfDatastore } from './datastores.js';
import type { ProjectSpec } from './project.js';

/** What a deployment's migrations hook is told: the environment, the new version, the live one (if any). */
export interface DeployMigrationsInput {
  environment: string;
  green: ArtifactRef;
  blue?: ArtifactRef;
}

/** Per datastore of the environment, what the deployment did or left: the expand run, the contract recorded. */
export interface DeployMigrationsResult {
  datastores: Array<{ datastore: string; schema: string } & DeployMigrationPlan>;
}

/** The tables an artifact declares: those its bundle exports (made with `defineTable`). */
export async function artifactTables(artifacts: ArtifactStore, ref: ArtifactRef): Promise<Table[]> {
  const entry = await artifacts.verify(ref.digest);
  const exported = await importBundle(join(entry.dir, BUNDLE_FILE));
  const tables = new Map<string, Table>();
  for (const value of Object.values(exported)) {
    if (isTable(value)) tables.set(value.name, value);
    // the table of a sink pipeline in the bundle, exported by itself or not
    else if (isPipeline(value) && value.sink !== undefined && !tables.has(value.sink.table.name))
      tables.set(value.sink.table.name, value.sink.table);
  }
  return [...tables.values()];
}

/**
 * Runs a deployment's migrations, expand-and-contract, before green starts: for each datastore of the
 * environment holding green's tables, the additive steps run (recorded by the deployment); the destructive
 * ones green can start without are recorded as pending-contract (for `slipway datastores apply
 * --allow-destructive` once blue is retired); a destructive step green needs while blue runs refuses the
 * deployment (`SLIPWAY_MIGRATION_BLOCKS_DEPLOY`) before anything changes in any datastore.
 *
 * @example
 * const hook = datastoreDeployHook({ project: { spec, dir }, tablesOf: (a) => artifactTables(artifacts, a) });
 * const plane = new ControlPlane({ store, artifacts, controllers, project: { spec, dir }, beforeDeploy: hook });
 */
export function datastoreDeployHook(options: {
  project: { spec: ProjectSpec; dir: string };
  tablesOf: (artifact: ArtifactRef) => Promise<readonly Table[]>;
  env?: NodeJS.ProcessEnv;
}): (input: DeployMigrationsInput) => Promise<DeployMigrationsResult> {
  return async ({ environment, green, blue }) => {
    const spec = options.project.spec.environments[environment];
    // An environment without datastores has no migrations: its deployments never load a bundle here.
    if (spec === undefined || Object.keys(spec.datastores ?? {}).length === 0) return { datastores: [] };
    const greenTables = await options.tablesOf(green);
    if (greenTables.length === 0) return { datastores: [] };
    const blueTables = blue === undefined ? [] : await options.tablesOf(blue);
    const env = { name: environment, spec };
    const deploying = `${green.pipeline} ${green.version} (${green.digest.slice(0, 19)})`;
    const work = [];
    try {
      // Plan every datastore first: a refusal changes nothing anywhere.
      for (const name of Object.keys(spec.datastores ?? {})) {
        const tables = tablesOfDatastore(env, greenTables, name);
        if (tables.length === 0) continue;
        const datastore = await resolveDatastore(env, name, options.project.dir, options.env);
        const client = await connectDatastore(datastore, `deploy ${green.pipeline}`);
        work.push({
          name,
          schema: datastore.schema,
          tables,
          client,
          plan: undefined as DeployMigrationPlan | undefined,
        });
        const current = await planDatastore(client, { schema: datastore.schema, tables });
        const edited = current.tables.flatMap((t) => t.edited.map((e) => `${t.table} step ${e.version}`));
        if (edited.length > 0)
          throw new SlipwayError(
            'SLIPWAY_MIGRATION_EDITED',
            `${deploying} declares migration steps edited after they were applied: ${edited.join(', ')}. Put them back as they were and make the change as a new step. Nothing was started.`,
            { details: { steps: edited } },
          );
        const plan = planDeployMigrations({ blue: blueTables, green: tables, plan: current });
        checkDeployMigrations(plan, deploying);
        (work.at(-1) as { plan?: DeployMigrationPlan }).plan = plan;
      }
      const result: DeployMigrationsResult = { datastores: [] };
      for (const w of work) {
        const plan = w.plan as DeployMigrationPlan;
        if (plan.expand.length > 0)
          await applyMigrations(w.client, {
            schema: w.schema,
            tables: w.tables,
            additiveOnly: true,
            appliedBy: `deployment of ${deploying}`,
          });
        if (plan.contract.length > 0) {
          await ensureLedger(w.client, w.schema);
          const steps = w.tables
            .flatMap(tableSteps)
            .filter((s) => plan.contract.some((c) => c.table === s.table && c.version === s.version));
          await recordPendingContract(
            w.client,
            w.schema,
            steps,
            `deployment of ${deploying}: apply once the previous version is retired`,
          );
        }
        result.datastores.push({ datastore: w.name, schema: w.schema, ...plan });
      }
      return result;
    } finally {
      for (const w of work) await w.client.end().catch(() => {});
    }
  };
}
