import type pg from 'pg';
import { SlipwayError } from '../errors.js';

/**
 * Where a datastore is: a PostgreSQL database and the schema Slipway's tables of one environment live in
 * (like a topic prefix: two environments on one database use two schemas). The password is resolved from
 * its secret reference by whoever connects (a runner, the CLI), never stored in a spec or a manifest.
 */
export interface PostgresDatastore {
  readonly kind: 'postgres';
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** The schema of this environment's tables (default `public`). */
  readonly schema: string;
  /** Connect with TLS (`true`: verify against the system CAs). */
  readonly ssl?: boolean;
}

/** A datastore and its password, resolved: what a connection needs. */
export interface DatastoreConnection extends PostgresDatastore {
  readonly password?: string;
}

/**
 * Opens one connection. A database that cannot be reached is `SLIPWAY_DATASTORE_UNAVAILABLE` (retryable),
 * naming the host and database, never the password.
 *
 * @example
 * const client = await connectDatastore({ kind: 'postgres', host: '127.0.0.1', port: 5432, database: 'test',
 *   user: 'postgres', schema: 'prod' }, 'datastores plan');
 */
export async function connectDatastore(datastore: DatastoreConnection, purpose: string): Promise<pg.Client> {
  // pg is loaded at the first connection: the CLI and runners that never reach a database never load it.
  const { default: driver } = await import('pg');
  const client = new driver.Client({
    host: datastore.host,
    port: datastore.port,
    database: datastore.database,
    user: datastore.user,
    ...(datastore.password !== undefined ? { password: datastore.password } : {}),
    ...(datastore.ssl ? { ssl: true } : {}),
    application_name: `slipway ${purpose}`.slice(0, 63),
    connectionTimeoutMillis: 10_000,
  });
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => {});
    throw new SlipwayError(
      'SLIPWAY_DATASTORE_UNAVAILABLE',
      `Cannot connect to PostgreSQL at ${datastore.host}:${datastore.port}, database ${datastore.database}, as ${datastore.user}: ${(cause as Error).message}. Check that it runs and the datastore's settings (slipway.config.ts).`,
      { cause, retryable: true, details: { host: datastore.host, port: datastore.port, database: datastore.database } },
    );
  }
  return client;
}

/** A datastore as text for messages: `postgres://user@host:port/database (schema s)`. Never the password. */
export function describeDatastore(datastore: PostgresDatastore): string {
  return `postgres://${datastore.user}@${datastore.host}:${datastore.port}/${datastore.database} (schema ${datastore.schema})`;
}
