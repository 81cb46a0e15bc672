import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ControlPlaneClient } from '../../control/client.js';
import { openSqliteControlStore } from '../../control/sqlite-control-store.js';
import { retireDatasetMajor } from '../../deploy/dataset-registry.js';
import { isSlipwayError, SlipwayError } from '../../errors.js';
import type { CliContext } from '../context.js';

/** `slipway datasets retire orders@1`: refused while a released pipeline reads or writes the major. */
export function registerDatasetsRetire(datasets: Command, ctx: CliContext): void {
  datasets
    .command('retire')
    .description(
      'Retire a major of a dataset: refused while any released pipeline reads or writes it; then nothing may be deployed against it',
    )
    .argument('<dataset@major>', 'e.g. orders@1')
    .option('--control-plane <url>', 'the control plane')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as { controlPlane?: string };
      const m = /^([a-z][a-z0-9_-]*)@v?(\d+)$/.exec(ref.trim());
      if (m === null)
        throw new SlipwayError('SLIPWAY_USAGE', `'${ref}' is not a dataset major like orders@1.`, { details: { ref } });
      const [name, major] = [m[1] as string, Number(m[2])];
      let client: ControlPlaneClient | undefined;
      try {
        client = ControlPlaneClient.find(ctx.stateDir(), opts.controlPlane);
      } catch (err) {
        if (!isSlipwayError(err, 'SLIPWAY_DAEMON_UNAVAILABLE')) throw err;
      }
      if (client !== undefined) await client.retireDataset(name, major);
      else {
        const path = resolve(ctx.stateDir(), 'control.db');
        if (!existsSync(path))
          throw new SlipwayError(
            'SLIPWAY_DATASET_NOT_FOUND',
            `No control plane and no registry at ${path}: retiring needs the registry (\`slipway up\`, or --control-plane <url>).`,
            { details: { dataset: name, major } },
          );
        const store = await openSqliteControlStore({ path });
        try {
          await retireDatasetMajor(store, name, major);
        } finally {
          await store.close();
        }
      }
      ctx.io.out(`retired ${name}.v${major}`);
    });
}
