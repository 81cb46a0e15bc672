#!/usr/bin/env node
// `npm run deps:report`: the folder dependencies of src/ as dependency-cruiser sees them (the same
// configuration CI checks with `npm run lint:layers`), one line per folder, and whether any folders
// depend on each other in a cycle. Exits 1 on a cycle. `--json` prints the graph as JSON.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--')) ?? 'src';
const result = spawnSync(
  process.execPath,
  [
    fileURLToPath(new URL('../node_modules/dependency-cruiser/bin/dependency-cruise.mjs', import.meta.url)),
    dir,
    '--config',
    '.dependency-cruiser.cjs',
    '--collapse',
    `^${dir}/[^/]+`,
    '--output-type',
    'json',
  ],
  { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
);
if (result.status !== 0 && result.stdout === '') {
  process.stderr.write(result.stderr);
  process.exit(result.status ?? 1);
}
const cruise = JSON.parse(result.stdout);
const folder = (path) => path.replace(new RegExp(`^${dir}/`), '');
const graph = new Map();
for (const m of cruise.modules) {
  if (!m.source.startsWith(`${dir}/`)) continue;
  const from = folder(m.source);
  const deps = graph.get(from) ?? new Set();
  for (const d of m.dependencies) {
    if (!d.resolved.startsWith(`${dir}/`)) continue;
    const to = folder(d.resolved);
    if (to !== from) deps.add(to);
  }
  graph.set(from, deps);
}

// Cycles between folders: a depth-first search that reports each back edge's cycle.
const cycles = [];
const state = new Map();
const stack = [];
const visit = (node) => {
  state.set(node, 'open');
  stack.push(node);
  for (const next of graph.get(node) ?? []) {
    if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
    else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(node, 'done');
};
for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);

if (args.includes('--json')) {
  const json = Object.fromEntries([...graph].map(([k, v]) => [k, [...v].sort()]));
  process.stdout.write(`${JSON.stringify({ folders: json, cycles }, null, 2)}\n`);
} else {
  const width = Math.max(...[...graph.keys()].map((k) => k.length));
  process.stdout.write(`folder dependencies of ${dir}/ (dependency-cruiser, .dependency-cruiser.cjs)\n`);
  for (const [k, v] of [...graph].sort(([a], [b]) => a.localeCompare(b)))
    process.stdout.write(`  ${k.padEnd(width)}  → ${[...v].sort().join(', ') || '(nothing)'}\n`);
  process.stdout.write(
    cycles.length === 0
      ? 'cycles between folders: none\n'
      : `cycles between folders: ${cycles.length}\n${cycles.map((c) => `  ${c.join(' → ')}`).join('\n')}\n`,
  );
}
process.exit(cycles.length === 0 ? 0 : 1);
