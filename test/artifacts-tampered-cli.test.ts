// Issue 10, item 14.4: `slipway artifacts` listed a tampered artifact without a flag.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { copyExampleProject } from './helpers/example-project.js';

const project = copyExampleProject({ prefix: 'slipway-artifacts-tampered-', tsx: true });
after(() => rmSync(project.dir, { recursive: true, force: true }));

/** Changes a file of a read-only artifact, as someone with write access to the store could. */
function tamper(file: string, change: (text: string) => string): void {
  chmodSync(file, 0o644);
  writeFileSync(file, change(readFileSync(file, 'utf8')));
}

describe('slipway artifacts verifies what it lists', () => {
  it('marks a tampered artifact TAMPERED naming the file, the others ok, and exits 1', async () => {
    const cli = (args: string[]) => runCli(args, { cwd: project.dir });
    const v1 = (await cli(['build', 'pipeline.ts'])).stdout.trim();
    const v2 = (await cli(['build', 'versions/v2.ts'])).stdout.trim();
    const v3 = (await cli(['build', 'versions/v3-broken.ts'])).stdout.trim();
    for (const d of [v1, v2, v3]) assert.match(d, /^sha256:[0-9a-f]{64}$/);

    const clean = await cli(['artifacts']);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /^DIGEST {8}NAME {11}VERSION {2}COMMIT {2}BUILT AT {14}STATUS\n/);
    assert.equal([...clean.stdout.matchAll(/ ok$/gm)].length, 3);

    const dir = (digest: string): string => join(project.dir, '.slipway/artifacts', digest.slice('sha256:'.length));
    tamper(join(dir(v2), 'bundle.mjs'), (code) => code.replace('0.93', '0.94'));
    tamper(join(dir(v3), 'manifest.json'), (text) => text.replace('"version": "', '"version": "9'));

    const table = await cli(['artifacts']);
    assert.equal(table.code, 1, table.stderr);
    const line = (digest: string): string =>
      table.stdout.split('\n').find((l) => l.startsWith(digest.slice(7, 19))) ?? '';
    assert.match(line(v1), / ok$/);
    assert.match(line(v2), / TAMPERED: bundle\.mjs changed$/);
    assert.match(line(v3), / TAMPERED: manifest\.json changed$/);
    assert.match(
      table.stderr,
      /^error SLIPWAY_ARTIFACT_TAMPERED: 2 of 3 artifacts in .* were changed after they were built/m,
    );
    assert.ok(table.stderr.includes(v2) && table.stderr.includes(v3), table.stderr);
    assert.match(table.stderr, /slipway build <pipeline-file>/);

    const json = await cli(['artifacts', '--json']);
    assert.equal(json.code, 1, json.stderr);
    const rows = JSON.parse(json.stdout) as Array<{ digest: string; status: string }>;
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.digest, r.status])), {
      [v1]: 'ok',
      [v2]: 'TAMPERED: bundle.mjs changed',
      [v3]: 'TAMPERED: manifest.json changed',
    });
  });
});
