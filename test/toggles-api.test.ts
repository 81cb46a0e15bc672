// The control plane's toggle API: `POST /api/toggles/:name` records a change on the environment's log with who
// (from the request) and when (the control plane's clock), `GET /api/toggles` lists them; `slipway toggle set`
// goes through it when the project's daemon runs, and writes to the log directly when none does.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isSlipwayError, openLog, readToggleHistory } from 'slipway';
import { ControlPlaneClient } from '../src/control/client.js';
import { daemonPaths, startDaemon } from '../src/control/daemon.js';
import { runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-toggles-api-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('toggles through the control plane', () => {
  it('POST /api/toggles/:name records who and when on the environment log; GET lists; bad settings refused by code', async () => {
    const paths = daemonPaths(join(dir, 'api'));
    const daemon = await startDaemon({ paths });
    try {
      const client = new ControlPlaneClient(daemon.url);
      const before = Date.now();
      const { change } = await client.setToggle('new-pricing', {
        setting: { percent: 10, where: [{ field: 'currency', op: 'eq', value: 'EUR' }] },
        by: 'ana',
      });
      assert.equal(change.version, 1);
      assert.equal(change.by, 'ana');
      assert.ok(Date.parse(change.at) >= before - 1000, `recorded at ${change.at}`);
      await client.setToggle('new-pricing', { setting: null, by: 'bo' });

      const { changes } = await client.toggles();
      assert.deepEqual(
        changes.map((c) => [c.version, c.toggle, c.by, c.setting === null ? null : c.setting.percent]),
        [
          [1, 'new-pricing', 'ana', 10],
          [2, 'new-pricing', 'bo', null],
        ],
      );
      // On the environment's log, where running pipelines read them.
      const log = await openLog({ engine: 'embedded', path: paths.logPath });
      try {
        assert.deepEqual(
          (await readToggleHistory(log)).map((c) => c.by),
          ['ana', 'bo'],
        );
      } finally {
        await log.close();
      }

      for (const [name, setting] of [
        ['new-pricing', { percent: 150 }],
        ['new-pricing', { fixed: 'on', percent: 5 }],
        ['Bad Name', { percent: 5 }],
      ] as const) {
        await assert.rejects(client.setToggle(name, { setting, by: 'ana' }), (err: unknown) => {
          assert.ok(isSlipwayError(err, 'SLIPWAY_INVALID_TOGGLE'), String(err));
          return true;
        });
      }
      await assert.rejects(client.setToggle('new-pricing', { setting: { percent: 5 }, by: '' }), (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_USAGE'),
      );
      assert.equal((await client.toggles()).changes.length, 2, 'refused changes record nothing');
    } finally {
      await daemon.close();
    }
  });

  it('slipway toggle set goes through the running daemon, and writes to the log directly without one', async () => {
    const paths = daemonPaths(join(dir, 'cli'));
    const env = { SLIPWAY_USER: 'ana' };
    const daemon = await startDaemon({ paths });
    try {
      const through = await runCli(['--log', paths.logPath, 'toggle', 'set', 'new-pricing', '--percent', '20'], {
        env,
      });
      assert.equal(through.code, 0, through.stderr);
      assert.match(through.stdout, new RegExp(`version 1, by ana, through ${daemon.url}`));
      const direct = await runCli(
        ['--log', paths.logPath, 'toggle', 'set', 'new-pricing', '--percent', '30', '--direct'],
        { env },
      );
      assert.equal(direct.code, 0, direct.stderr);
      assert.doesNotMatch(direct.stdout, /through/);
      assert.equal((await new ControlPlaneClient(daemon.url).toggles()).changes.length, 2);
    } finally {
      await daemon.close();
    }
    const without = await runCli(['--log', paths.logPath, 'toggle', 'set', 'new-pricing', '--percent', '40'], { env });
    assert.equal(without.code, 0, without.stderr);
    assert.match(without.stdout, /version 3, by ana\)/);
    const log = await openLog({ engine: 'embedded', path: paths.logPath });
    try {
      assert.deepEqual(
        (await readToggleHistory(log)).map((c) => [c.version, c.by, c.setting?.percent]),
        [
          [1, 'ana', 20],
          [2, 'ana', 30],
          [3, 'ana', 40],
        ],
      );
    } finally {
      await log.close();
    }
  });
});
