import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// `npm run bench:toggles` runs each pipeline in a throughput process of its own (bench/toggles-run.ts), a new pair
// every few rounds, and three runner processes for propagation. This runs the real bench, small, and checks what
// it promises besides its figures (timings, judged by whoever runs it): every run processed every record with the
// pipeline its process is for (the bench fails otherwise), one JSON line last with the documented fields, every change
// reaching every runner, and nothing left behind — no temporary folder, no process keeping it alive (a process left
// running would keep the bench's stderr open: the test would time out).
const root = fileURLToPath(new URL('..', import.meta.url));
const bench = fileURLToPath(new URL('../bench/toggles.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'slipway-bench-toggles-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('bench:toggles', () => {
  it('runs both pipelines in their own processes, round by round, and prints the figures last', {
    timeout: 6 * 60_000,
  }, async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '--conditions=slipway-source',
          '--import',
          'tsx',
          bench,
          ...['--records', '6000', '--rounds', '4', '--rounds-per-process', '2', '--changes', '3'],
        ],
        { cwd: root, env: { ...process.env, TMPDIR: tmp }, maxBuffer: 16 * 1024 * 1024, timeout: 5 * 60_000 },
        (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), stdout, stderr }),
      );
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(
      lines.filter((l) => /^round \d+: no toggles \d+ rec\/s .* three toggles \d+ rec\/s/.test(l)).length,
      4,
    );
    // Two pairs of processes (a new pair after 2 rounds), each warmed by one run that is not counted; each process
    // checked it ran its own pipeline (the bench fails otherwise).
    const warmUps = lines
      .map((l) =>
        /^warm-up, not counted: no toggles \d+ rec\/s in process (\d+), three toggles \d+ rec\/s in process (\d+)$/.exec(
          l,
        ),
      )
      .filter((m) => m !== null);
    assert.equal(warmUps.length, 2, r.stdout);
    assert.equal(new Set(warmUps.flatMap((m) => [m[1], m[2]])).size, 4, 'four distinct processes');
    assert.match(lines.at(-2) as string, /^propagation over 9 runner pickups: /);
    const figures = JSON.parse(lines.at(-1) as string) as Record<string, number | string>;
    assert.equal(figures.bench, 'toggles');
    assert.equal(figures.records, 6000);
    assert.equal(figures.runners, 3);
    assert.equal(figures.changes, 3);
    for (const field of [
      'recordsPerSec',
      'baselineRecordsPerSec',
      'ratio',
      'cpuRatio',
      'bestRatio',
      'propagationP99Ms',
    ])
      assert.ok(typeof figures[field] === 'number' && (figures[field] as number) > 0, `${field}: ${figures[field]}`);
    // Every temporary folder the bench and its processes made is removed (tsx keeps its cache there too).
    assert.deepEqual(
      readdirSync(tmp).filter((name) => name.startsWith('slipway-')),
      [],
    );
  });
});
