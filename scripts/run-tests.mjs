#!/usr/bin/env node
// `npm test`: runs every *.test.ts under src/ and test/ with node's test runner (Node 20 has no globs).
// Extra arguments are passed on: `npm test -- --test-name-pattern=fenc` or a list of files.
//
// Kafka: with KAFKA_BROKERS set (CI starts and stops its own broker), or a broker of this checkout kept up
// with `npm run kafka:start`, the tests use that one. Otherwise the first test that needs Kafka starts a broker
// for this run, and the run stops it when it ends — when tests fail, and on Ctrl-C too
// (scripts/kafka/run-broker.mjs).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { prepareRunBroker } from './kafka/run-broker.mjs';

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

const broker = await prepareRunBroker();
const child = spawn(
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
  { stdio: 'inherit', env: broker.env },
);

// Ctrl-C reaches the test runner too (same process group); a signal sent to this process alone is passed on.
// Either way this process stays to stop the broker once the tests have ended.
let signalled;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    signalled ??= signal;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
const code = await new Promise((resolve) => {
  child.on('error', (err) => {
    process.stderr.write(`cannot run the tests: ${err.message}\n`);
    resolve(1);
  });
  child.on('close', (exitCode, signal) => resolve(exitCode ?? 128 + (constants.signals[signal] ?? 0)));
});
let status = signalled === undefined ? code : 128 + constants.signals[signalled];
try {
  if (await broker.finish()) process.stderr.write('stopped the Kafka broker this test run started\n');
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  if (status === 0) status = 1;
}
process.exit(status);
