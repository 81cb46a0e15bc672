import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// Every CLI command, every runner and the daemon start a process, and what a start imports is paid each time
// (the Kafka client's import alone was a third of `slipway --version`). The heavy clients are loaded when used:
// the Kafka client when a Kafka log opens, pg at a database's first connection, esbuild when a build runs,
// secretlint when a scan runs, the HTTP server when a daemon starts. This runs the real CLI with a loader hook
// that records every module it resolves.
const entry = fileURLToPath(new URL('../src/cli/entry.ts', import.meta.url));
// The folder a command runs in has no node_modules: tsx is named by its URL.
const tsx = import.meta.resolve('tsx');
const recorder = fileURLToPath(new URL('./helpers/record-loads.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'slipway-startup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LOADED_WHEN_USED = [
  '/node_modules/@platformatic/kafka/',
  '/node_modules/pg/',
  '/node_modules/esbuild/',
  '/node_modules/@secretlint/',
  '/node_modules/@hono/node-server/dist/index',
];

function loadsOf(args: string[], name: string): string[] {
  // Run in an empty folder: `secrets scan` scans the folder it runs in.
  const file = join(dir, `${name}.txt`);
  const r = spawnSync(
    process.execPath,
    ['--conditions=slipway-source', '--import', tsx, '--import', recorder, entry, ...args],
    { cwd: dir, encoding: 'utf8', env: { ...process.env, SLIPWAY_RECORD_LOADS: file } },
  );
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

describe('what a CLI start loads', () => {
  it('loads every command but none of the heavy clients until a command uses one', () => {
    const loads = loadsOf(['--help'], 'help');
    assert.ok(
      loads.some((url) => url.endsWith('/src/cli/commands/kafka.ts')),
      'the recorder sees the commands load',
    );
    for (const heavy of LOADED_WHEN_USED) {
      const hit = loads.find((url) => url.includes(heavy));
      assert.equal(hit, undefined, `a CLI start loads ${hit}`);
    }
  });

  it('loads a heavy client once a command uses it (the recorder sees dynamic imports too)', () => {
    const loads = loadsOf(['secrets', 'scan'], 'secrets-scan');
    assert.ok(
      loads.some((url) => url.includes('/node_modules/@secretlint/core/')),
      'secrets scan loads secretlint when it scans',
    );
  });
});
