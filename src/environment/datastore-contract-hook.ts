import type pg from 'pg';
import { connectDatastore } from '../datastore/connection.js';
import { applyMigrations } from '../datastore/migration-apply.js';
import { planDatastore } from '../datastore/migration-plan.js';
import type { Table } from '../datastore/table.js';
import type { ArtifactRef, ContractInput, ContractMigrations, ContractStep } from '../deploy/deployment.js';
import { resolveDatastore, tablesOfDatastore } from './datastores.js';
import type { ProjectSpec } from './project.js';

/**
 * The contract of expand-and-contract, for the controller to run once a deployment has retired blue: the
 * destructive steps of green's tables that a deployment left `pending-contract` (see `datastoreDeployHook`),
 * per datastore of the environment, applied with their records in the ledger (`applied by` names the
 * deployment). Steps not left pending-contract by a deployment are never run here.
 *
 * @example
 * const contract = datastoreContractHook({ project: { spec, dir }, tablesOf: (a) => artifactTables(artifacts, a) });
 * new Controller({ ...options, contractMigrations: contract });
 */
export function datastoreContractHook(options: {
  project: { spec: ProjectSpec; dir: string };
  tablesOf: (artifact: ArtifactRef) => Promise<readonly Table[]>;
  env?: NodeJS.ProcessEnv;
}): ContractMigrations {
  /** Runs `fn` on each datastore of the environment that holds green's tables. */
  const eachDatastore = async <T>(
    input: ContractInput,
    fn: (d: { name: string; schema: string; tables: readonly Table[]; client: pg.Client }) => Promise<T[]>,
  ): Promise<T[]> => {
    const spec = options.project.spec.environments[input.environment];
    if (spec === undefined || Object.keys(spec.datastores ?? {}).length === 0) return [];
    const greenTables = await options.tablesOf(input.green);
    const env = { name: input.environment, spec };
    const out: T[] = [];
    for (const name of Object.keys(spec.datastores ?? {})) {
      const tables = tablesOfDatastore(env, greenTables, name);
      if (tables.length === 0) continue;
      const datastore = await resolveDatastore(env, name, options.project.dir, options.env);
      const client = await connectDatastore(datastore, `contract ${input.green.pipeline}`);
      try {
        out.push(...(await fn({ name, schema: datastore.schema, tables, client })));
      } finally {
        await client.end().catch(() => {});
      }
    }
    return out;
  };
  const pending = (input: ContractInput): Promise<ContractStep[]> =>
    eachDatastore(input, async ({ name, schema, tables, client }) => {
      const plan = await planDatastore(client, { schema, tables });
      return plan.tables.flatMap((t) => {
        const cut = t.pending.findIndex((p) => p.pendingContract === undefined);
        return (cut === -1 ? t.pending : t.pending.slice(0, cut)).map((p) => ({
          datastore: name,
          table: t.table,
          version: p.version,
          description: p.description,
        }));
      });
    });
  return {
    pending,
    async apply(input) {
      const deploying = `${input.green.pipeline} ${input.green.version}`;
      const retired = input.blue === null ? '' : `, ${input.blue.version} retired`;
      const applied = await eachDatastore(input, async ({ name, schema, tables, client }) => {
        const result = await applyMigrations(client, {
          schema,
          tables,
          contractOnly: true,
          allowDestructive: true,
          appliedBy: `deployment ${input.deployment} of ${deploying} (contract${retired})`,
        });
        return result.applied.map((a) => ({
          datastore: name,
          table: a.table,
          version: a.version,
          description: a.description,
        }));
      });
      return { applied };
    },
  };
}
