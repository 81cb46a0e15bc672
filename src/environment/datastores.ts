import { resolve } from 'node:path';
import type { DatastoreConnection } from '../datastore/connection.js';
import type { Table } from '../datastore/table.js';
import { SlipwayError } from '../errors.js';
import { resolveSecrets } from '../pipeline/secrets.js';
import type { SinkDatastoreRef } from '../supervisor/supervisor.js';
import type { EnvironmentSpec } from './project.js';

/**
 * Resolves a datastore an environment declares (`datastores.<name>` in slipway.config.ts) to what a
 * connection needs: its address, its schema (default `public`) and its password, read from its secret
 * reference (an environment variable, or a file relative to the project folder). A reference that cannot be
 * resolved is `SLIPWAY_SECRET_MISSING`; an undeclared datastore `SLIPWAY_DATASTORE_NOT_DECLARED`.
 *
 * @example
 * const main = await resolveDatastore({ name: 'prod', spec: project.spec.environments.prod }, 'main', projectDir);
 * const client = await connectDatastore(main, 'datastores plan');
 */
export async function resolveDatastore(
  environment: { name: string; spec: EnvironmentSpec },
  name: string,
  projectDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DatastoreConnection> {
  const declared = environment.spec.datastores ?? {};
  const spec = declared[name];
  if (spec === undefined)
    throw new SlipwayError(
      'SLIPWAY_DATASTORE_NOT_DECLARED',
      `Environment ${environment.name} declares no datastore '${name}' (it declares: ${Object.keys(declared).join(', ') || 'none'}). Add it under environments.${environment.name}.datastores in slipway.config.ts, e.g. ${name}: { kind: 'postgres', host, database, user, password: { env: 'PGPASSWORD' } }.`,
      { details: { environment: environment.name, datastore: name, declared: Object.keys(declared) } },
    );
  let password: string | undefined;
  if (spec.password !== undefined) {
    const ref = 'file' in spec.password ? { file: resolve(projectDir, spec.password.file) } : spec.password;
    const secret = `datastores.${name}.password`;
    password = (await resolveSecrets({ [secret]: ref }, env)).get(secret);
  }
  return {
    kind: 'postgres',
    host: spec.host,
    port: spec.port ?? 5432,
    database: spec.database,
    user: spec.user,
    schema: spec.schema ?? 'public',
    ...(spec.ssl === undefined ? {} : { ssl: spec.ssl }),
    ...(password === undefined ? {} : { password }),
  };
}

/** The tables of one datastore, refused when a table names a datastore the environment does not declare. */
export function tablesOfDatastore(
  environment: { name: string; spec: EnvironmentSpec },
  tables: readonly Table[],
  datastore: string,
): Table[] {
  const declared = Object.keys(environment.spec.datastores ?? {});
  const unknown = tables.filter((t) => !declared.includes(t.datastore));
  if (unknown.length > 0)
    throw new SlipwayError(
      'SLIPWAY_DATASTORE_NOT_DECLARED',
      `Table${unknown.length === 1 ? '' : 's'} ${unknown.map((t) => `${t.name} (datastore '${t.datastore}')`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} in a datastore environment ${environment.name} does not declare (it declares: ${declared.join(', ') || 'none'}). Declare it under environments.${environment.name}.datastores in slipway.config.ts.`,
      { details: { environment: environment.name, tables: unknown.map((t) => t.name), declared } },
    );
  return tables.filter((t) => t.datastore === datastore);
}

/**
 * A datastore an environment declares, as a runner is given it: the address and schema, and the password by
 * its secret reference (files made absolute against the project folder), resolved only by whoever connects.
 * `undefined` when the environment does not declare it (the controller refuses the deployment, naming it).
 */
export function datastoreReference(
  spec: EnvironmentSpec,
  name: string,
  projectDir: string,
): SinkDatastoreRef | undefined {
  const declared = spec.datastores?.[name];
  if (declared === undefined) return undefined;
  const password = declared.password;
  return {
    datastore: {
      kind: 'postgres',
      host: declared.host,
      port: declared.port ?? 5432,
      database: declared.database,
      user: declared.user,
      schema: declared.schema ?? 'public',
      ...(declared.ssl === undefined ? {} : { ssl: declared.ssl }),
    },
    ...(password === undefined
      ? {}
      : { password: 'file' in password ? { file: resolve(projectDir, password.file) } : { env: password.env } }),
  };
}
