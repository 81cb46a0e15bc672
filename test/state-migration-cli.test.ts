// `slipway deploy --irreversible-state` end to end: a version whose state migration has no `down` is refused
// without the flag (SLIPWAY_STATE_IRREVERSIBLE, nothing started) and deployed with it. And a deployment to an
// older state layout says what takes the state back. The control plane runs in this process (runners
// in-process); the CLI runs as a user runs it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { ArtifactStore, buildArtifact, InProcessSupervisor, isSlipwayError, openLog } from 'slipway';
import { describeEvent } from '../src/cli/render-event.js';
import { daemonPaths, startDaemon } from '../src/control/daemon.js';
import { NAME } from './fixtures/state-migration/counts.js';
import { runCli } from './helpers/cli.js';
import { produceOrders } from './helpers/orders.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-state-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('slipway deploy and state migrations', () => {
  it('refuses a migration without down unless --irreversible-state (SLIPWAY_STATE_IRREVERSIBLE); a deployment to an older layout says who takes state back', async () => {
    const paths = daemonPaths(join(dir, 'control'));
    const store = new ArtifactStore({ dir: paths.artifactsDir });
    const cwd = resolve('test/fixtures/state-migration');
    const build = async (entry: string) => (await buildArtifact({ entry, cwd, store })).digest;
    const [v1, v2, oneWay] = [await build('v1.ts'), await build('v2.ts'), await build('v2-one-way.ts')];
    const log = await openLog({ engine: 'embedded', path: paths.logPath });
    await produceOrders(log, 0, 200);
    await log.close();
    const daemon = await startDaemon({
      paths,
      supervisor: new InProcessSupervisor({ artifactsDir: paths.artifactsDir }),
    });
    const { controller } = daemon;
    const deployed = async (digest: string) => {
      const d = await controller.wait((await controller.deploy(digest, { bakeMs: 200, untested: true })).id);
      assert.equal(d.status, 'completed', JSON.stringify(d.summary));
      return (await controller.store.events(d.id)).filter((e) => e.step === 'state-migration').map(describeEvent);
    };
    const deploy = (digest: string, ...flags: string[]) =>
      runCli(['deploy', digest, '--control-plane', daemon.url, '--bake', '200', '--allow-untested', ...flags], {
        cwd,
      });
    try {
      await deployed(v1);

      // v2 without down: refused before anything starts, then deployed with the flag.
      const deployments = (await controller.store.listDeployments()).length;
      const refused = await deploy(oneWay);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(
        refused.stderr,
        /error SLIPWAY_STATE_IRREVERSIBLE: customer-counts 2\.0\.1 migrates state from layout 1 to 2 without a down migration[^\n]*--irreversible-state/,
      );
      assert.equal((await controller.store.listDeployments()).length, deployments, 'nothing recorded or started');
      const accepted = await deploy(oneWay, '--irreversible-state');
      assert.equal(accepted.code, 0, accepted.stderr);
      assert.match(accepted.stdout, /completed/);
      assert.match(
        accepted.stderr,
        /state {7}migrates from layout 1 to 2 at green's activation; NO down migration: a rollback will not be possible \(--irreversible-state\)/,
      );
      assert.equal((await controller.store.getRelease(NAME, 'local'))?.artifact.version, '2.0.1');

      // Back to v1 from it: refused, saying why (the live version cannot take its state back), not how to migrate up.
      await assert.rejects(controller.deploy(v1, { untested: true }), (err: unknown) => {
        assert.ok(isSlipwayError(err, 'SLIPWAY_STATE_MIGRATION_MISSING'), String(err));
        assert.match(
          err.message,
          /^customer-counts 1\.0\.0 goes back to state layout 1, but the live version 2\.0\.1 \(layout 2\) cannot take its state back: its migrateState has no down\./,
        );
        return true;
      });
      // From v2, which has down: the events say that the live version takes the state back, not that green migrates.
      await deployed(v2);
      const back = await deployed(v1);
      assert.equal(back.length, 2, back.join('\n'));
      assert.match(
        back[0] as string,
        /state {7}goes back from layout 2 to 1 \(an older version\): the live version takes it back with its down at the cutover; a rollback migrates it up again$/,
      );
      assert.match(back[1] as string, /state {7}taken back from layout 2 to 1 with down \(\d+ partitions, 50 keys\)$/);
    } finally {
      await daemon.close();
    }
  });
});
