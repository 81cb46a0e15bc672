#!/usr/bin/env node
// `npm test`: runs every *.test.ts under src/ and test/ with node's test runner (Node 20 has no globs).
// Extra arguments are passed on: `npm test -- --test-name-pattern=fenc` or a list of files.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'fixtures' && entry.name !== 'helpers')
        out.push(...find(path));
    } else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
const files = args.some((a) => a.endsWith('.ts'))
  ? args.filter((a) => a.endsWith('.ts'))
  : [...find('src'), ...find('test')].sort();
const options = args.filter((a) => !a.endsWith('.ts'));
const result = spawnSync(
  process.execPath,
  [
    '--conditions=slipway-source',
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-concurrency=2',
    ...options,
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
