import type { PipelineDescription } from '../artifact/manifest.js';
import { connectDatastore } from '../datastore/connection.js';
import { defineTable } from '../datastore/table.js';
import { SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { resolveSecrets } from '../pipeline/secrets.js';
import { tableSink } from '../pipeline/table-sink.js';
import { SinkLog } from '../runtime/sink-log.js';
import type { SinkDatastoreRef } from '../supervisor/supervisor.js';
import { removeSinkShadow, sinkShadowNames } from './sink-shadow.js';

/**
 * Sink pipelines in the controller: their runners get the environment's datastore (by reference), and each
 * deployment hands them off through a {@link SinkLog} — the environment's log for records, the datastore for
 * the owner's epoch, the committed offsets and the state — so every strategy's pause → fence → activate at
 * the committed offsets works on the database unchanged.
 */

/** The environment's datastore `name` for a sink pipeline; refused when the environment does not declare it. */
export function sinkDatastore(
  datastoreOf: (pipeline: string, datastore: string) => SinkDatastoreRef | undefined,
  environment: string,
  pipeline: string,
  name: string,
): SinkDatastoreRef {
  const datastore = datastoreOf(pipeline, name);
  if (datastore === undefined) {
    throw new SlipwayError(
      'SLIPWAY_DEPLOY_REFUSED',
      `${pipeline} writes a table of datastore '${name}', which ${environment} does not declare: add it under datastores of the environment (slipway.config.ts).`,
      { details: { pipeline, datastore: name } },
    );
  }
  return datastore;
}

/** The sink pipeline's log for a handoff (its password resolved here, in the control plane's process). */
export async function handoffSinkLog(log: Log, manifest: PipelineDescription, ref: SinkDatastoreRef): Promise<SinkLog> {
  const sink = manifest.sink as NonNullable<PipelineDescription['sink']>;
  const password =
    ref.password === undefined
      ? undefined
      : (await resolveSecrets({ 'datastore password': ref.password })).get('datastore password');
  const columns = Object.fromEntries(sink.columns.map((c) => [c.name, c]));
  const table = defineTable({ name: sink.table, datastore: sink.datastore, columns, primaryKey: sink.primaryKey });
  return new SinkLog(log, {
    datastore: { ...ref.datastore, ...(password === undefined ? {} : { password }) },
    sink: tableSink(table, { mode: sink.mode, deleteOnTombstone: sink.deleteOnTombstone }),
    purpose: `${manifest.name} control plane`,
  });
}

/** Drops a sink shadow's table and removes its offsets, state and owner's epoch from the datastore. */
export async function removeSinkShadowOf(
  sinkLog: SinkLog,
  manifest: PipelineDescription,
  shadowId: string,
): Promise<string[]> {
  const client = await connectDatastore(sinkLog.datastore, `${manifest.name} shadow ${shadowId} cleanup`);
  try {
    return await removeSinkShadow(client, sinkShadowNames(manifest, shadowId, sinkLog.datastore.schema));
  } finally {
    await client.end().catch(() => {});
  }
}
