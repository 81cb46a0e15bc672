import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestFailure, TestLayer, TestLayerResult, TestReport } from '../deploy/test-report.js';
import { SlipwayError } from '../errors.js';
import { TapResults } from './tap-results.js';

/** The layers, in the order they run: fast to slow. */
export const TEST_LAYERS: readonly TestLayer[] = ['unit', 'integration', 'e2e'] as const;

/** Folders never searched for tests. */
const SKIPPED_DIRS = new Set(['node_modules', '.slipway', '.git', 'dist']);

/**
 * A project's test files by convention, relative to `dir` and sorted: `test/integration/**` and
 * `test/e2e/**` are their layers; every other `*.test.ts` (beside the pipelines) is a unit test.
 */
export function findTestFiles(dir: string): Record<TestLayer, string[]> {
  const root = resolve(dir);
  const found: Record<TestLayer, string[]> = { unit: [], integration: [], e2e: [] };
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(path);
        continue;
      }
      if (!entry.name.endsWith('.test.ts')) continue;
      const rel = relative(root, path).split(sep).join('/');
      if (rel.startsWith('test/integration/')) found.integration.push(rel);
      else if (rel.startsWith('test/e2e/')) found.e2e.push(rel);
      else found.unit.push(rel);
    }
  };
  walk(root);
  for (const layer of TEST_LAYERS) found[layer].sort();
  return found;
}

/** Progress of a test run, for whoever shows it (the library never prints). */
export type TestRunEvent =
  | { type: 'layer-start'; layer: TestLayer; files: string[] }
  | { type: 'test'; layer: TestLayer; name: string; file: string | null; ok: boolean; skipped: boolean }
  | { type: 'layer-end'; layer: TestLayer; result: TestLayerResult; durationMs: number };

export interface RunTestSuitesOptions {
  /** The project folder. */
  dir: string;
  /** Layers to run (default all three); a layer without files is skipped. */
  layers?: readonly TestLayer[];
  onEvent?: (event: TestRunEvent) => void;
  /** Extra environment for the test processes. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** A test run's outcome: a report without the digest it will be bound to. */
export type TestRunResult = Omit<TestReport, 'digest'>;

/**
 * Runs a project's test layers one after the other, each with node's test runner in a child process
 * (TypeScript through tsx; no test framework is needed beyond `node:test`), and sums them up.
 *
 * @example
 * const result = await runTestSuites({ dir: 'examples/orders', onEvent: (e) => show(e) })
 * if (!result.passed) console.log(result.failures)
 */
export async function runTestSuites(options: RunTestSuitesOptions): Promise<TestRunResult> {
  const dir = resolve(options.dir);
  const files = findTestFiles(dir);
  const wanted = options.layers ?? TEST_LAYERS;
  const startedAt = Date.now();
  const started = performance.now();
  const layers = {} as Record<TestLayer, TestLayerResult>;
  const failures: TestFailure[] = [];
  for (const layer of TEST_LAYERS) {
    const list = wanted.includes(layer) ? files[layer] : [];
    const result: TestLayerResult = { passed: 0, failed: 0, skipped: 0, files: list.length };
    layers[layer] = result;
    if (list.length === 0) continue;
    options.onEvent?.({ type: 'layer-start', layer, files: list });
    const layerStarted = performance.now();
    const code = await runNodeTests(dir, list, options, (t) => {
      const file = t.file === null ? null : relative(dir, t.file).split(sep).join('/');
      if (t.skipped) result.skipped++;
      else if (t.ok) result.passed++;
      else {
        result.failed++;
        failures.push({ layer, name: t.name, file, ...(t.message === undefined ? {} : { message: t.message }) });
      }
      options.onEvent?.({ type: 'test', layer, name: t.name, file, ok: t.ok, skipped: t.skipped });
    });
    if (code.exitCode !== 0 && result.failed === 0) {
      // The runner failed without a failing test to show for it (a crash, a bad flag): say so.
      result.failed++;
      failures.push({
        layer,
        name: '(test process)',
        file: null,
        message: `node --test exited with code ${code.exitCode}${code.stderr ? `: ${code.stderr}` : ''}`,
      });
    }
    options.onEvent?.({ type: 'layer-end', layer, result, durationMs: performance.now() - layerStarted });
  }
  if (TEST_LAYERS.every((l) => layers[l].files === 0)) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `No test files in ${dir}: put unit tests beside the pipelines (*.test.ts), and others in test/integration/ and test/e2e/.`,
    );
  }
  return {
    passed: failures.length === 0,
    layers,
    failures,
    startedAt,
    durationMs: Math.round(performance.now() - started),
  };
}

/** `--conditions` given to this process, so the tests resolve packages (e.g. Slipway) the same way. */
function inheritedConditions(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith('--conditions=') || a.startsWith('-C=')) out.push(a);
    else if ((a === '--conditions' || a === '-C') && argv[i + 1] !== undefined) out.push(a, argv[++i] as string);
  }
  return out;
}

function runNodeTests(
  dir: string,
  files: string[],
  options: RunTestSuitesOptions,
  onTest: ConstructorParameters<typeof TapResults>[0],
): Promise<{ exitCode: number; stderr: string }> {
  // tsx is Slipway's own dependency: resolved from here, so a project need not install it.
  const tsx = import.meta.resolve('tsx');
  const env = { ...process.env, ...options.env };
  // Set when this process is itself a test file under `node --test`: the child would then report to
  // a parent runner in its internal protocol instead of printing TAP.
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(
    process.execPath,
    [...inheritedConditions(), '--import', tsx, '--test', '--test-reporter=tap', ...files],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const onAbort = (): void => void child.kill('SIGTERM');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const tap = new TapResults(onTest);
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => tap.line(line));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
  });
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      tap.end();
      resolvePromise({ exitCode: code ?? (signal === null ? 1 : 128), stderr: stderr.trim() });
    });
  });
}
