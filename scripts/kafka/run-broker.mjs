// A Kafka broker on behalf of one test run (`npm test`): started only if a test asks for one, stopped when
// the run ends — also when tests fail or the run is interrupted. A broker given in KAFKA_BROKERS (CI), or one
// kept up with `npm run kafka:start`, is used as it is and left running.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stateDir } from './state.mjs';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'kafka-broker.mjs');
/** A run's state folder is `<state folder>-run-<pid of the run>`. */
const RUN_SUFFIX = '-run-';

function runScript(command, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', (err) => resolve({ code: 1, stdout, stderr: `${stderr}${err.message}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * Stops the broker recorded in a run's state folder, if one was started, and removes the folder.
 * Resolves to true when there was a broker to stop. Throws (keeping the folder, so it can be stopped by
 * hand) when it could not be stopped.
 */
export async function stopRunBroker(dir, env = process.env) {
  const started = fs.existsSync(path.join(dir, 'state.json')) || fs.existsSync(path.join(dir, 'broker.pid'));
  if (started) {
    const r = await runScript('stop', { ...env, SLIPWAY_KAFKA_STATE: dir });
    if (r.code !== 0) {
      throw new Error(
        `could not stop the Kafka broker of ${dir}: ${r.stderr.trim()}\nStop it with: SLIPWAY_KAFKA_STATE=${dir} npm run kafka:stop`,
      );
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return started;
}

/**
 * The run folders beside `base` whose run (the pid in their name) has ended — a run killed before it could
 * clean up: stops the brokers they left running and removes them. Resolves to the folders removed.
 */
export async function sweepStaleRuns(base, env = process.env) {
  const parent = path.dirname(base);
  const prefix = `${path.basename(base)}${RUN_SUFFIX}`;
  let names = [];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return [];
  }
  const swept = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0 || pidAlive(pid)) continue;
    const dir = path.join(parent, name);
    await stopRunBroker(dir, env);
    swept.push(dir);
  }
  return swept;
}

/**
 * Decides which broker a test run uses, before it starts:
 * - `given`: KAFKA_BROKERS is set (CI starts and stops its own): used as it is.
 * - `running`: the checkout's broker from `npm run kafka:start` is up: used, and left running.
 * - `on-demand`: neither. The run's tests get `SLIPWAY_KAFKA_STATE=<state>-run-<runId>`, so the first test that
 *   needs Kafka starts a broker there (see src/log/kafka/test-broker.ts), and `finish()` stops it.
 * Folders of earlier runs that were killed are swept first.
 */
export async function prepareRunBroker({ env = process.env, runId = process.pid } = {}) {
  const noop = async () => false;
  const given = env.KAFKA_BROKERS?.trim();
  if (given) return { mode: 'given', env, brokers: given, finish: noop };
  const base = stateDir(env);
  const status = await runScript('status', { ...env, SLIPWAY_KAFKA_STATE: base });
  const line = status.stdout.split('\n').find((l) => l.startsWith('KAFKA_BROKERS='));
  if (status.code === 0 && line !== undefined) {
    const brokers = line.slice('KAFKA_BROKERS='.length).trim();
    // Its SASL_SSL listener too, when it has one (SLIPWAY_KAFKA_SECURED=1): the secured tests use it.
    const secured = {};
    for (const l of status.stdout.split('\n')) {
      const m = /^(KAFKA_SECURED_[A-Z_]+)=(.*)$/.exec(l.trim());
      if (m !== null) secured[m[1]] = m[2];
    }
    return { mode: 'running', env: { ...env, ...secured, KAFKA_BROKERS: brokers }, brokers, finish: noop };
  }
  await sweepStaleRuns(base, env);
  const dir = `${base}${RUN_SUFFIX}${runId}`;
  const runEnv = { ...env, SLIPWAY_KAFKA_STATE: dir };
  delete runEnv.KAFKA_BROKERS;
  let finishing;
  return { mode: 'on-demand', env: runEnv, stateDir: dir, finish: () => (finishing ??= stopRunBroker(dir, env)) };
}
