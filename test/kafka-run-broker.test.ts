// Issue 10, item 14.7: `npm test` started a Kafka broker and left it running, with its state in a folder shared by
// every checkout. A broker started on behalf of a run is stopped at its end (failing tests, Ctrl-C), and the state
// folder depends on the checkout.
//
// These tests start brokers of their own on free ports, with state folders in a temp folder: the broker other
// tests use (KAFKA_BROKERS) is never looked at, let alone stopped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { prepareRunBroker, sweepStaleRuns } from '../scripts/kafka/run-broker.mjs';
import { checkoutDir, defaultStateDir, stateDir } from '../scripts/kafka/state.mjs';

const ROOT = resolve('.');
const dir = mkdtempSync(join(tmpdir(), 'slipway-kafka-run-'));
const started: number[] = [];
after(() => {
  // Should a test fail half-way, no broker of its own is left behind.
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (the broker is the child of a script that has exited) answers kill(0) too.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return true;
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => res(port));
    });
  });
}

/** The environment of a test run with no broker given: its own state folder, its own ports, a small heap. */
async function runEnv(state: string): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SLIPWAY_KAFKA_STATE: state,
    KAFKA_PORT: String(await freePort()),
    KAFKA_CONTROLLER_PORT: String(await freePort()),
    SLIPWAY_KAFKA_HEAP: '-Xmx256m -Xms256m',
  };
  delete env.KAFKA_BROKERS;
  // This file runs under `node --test`: the run started below must print its own report, not speak to ours.
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** Runs `npm test -- <fixture>` (scripts/run-tests.mjs) and resolves once it ends; `onBroker` when the broker is up. */
function runTests(env: NodeJS.ProcessEnv, out: string, onBroker?: (child: ReturnType<typeof spawn>) => void) {
  const child = spawn(process.execPath, ['scripts/run-tests.mjs', 'test/fixtures/kafka-run/needs-broker.test.ts'], {
    cwd: ROOT,
    env: { ...env, SLIPWAY_FIXTURE_OUT: out },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const poll = setInterval(() => {
    if (onBroker !== undefined && existsSync(out)) {
      clearInterval(poll);
      onBroker(child);
    }
  }, 200);
  return new Promise<{ code: number | null; output: string }>((res) => {
    child.on('close', (code) => {
      clearInterval(poll);
      res({ code, output });
    });
  });
}

describe('the Kafka broker of a test run', () => {
  it('keeps its state in a folder of the checkout: two checkouts, two folders', () => {
    const a = defaultStateDir('/work/checkout-a');
    assert.equal(defaultStateDir('/work/checkout-a'), a);
    assert.notEqual(defaultStateDir('/work/checkout-b'), a);
    assert.notEqual(defaultStateDir('/other/checkout-a'), a, 'the same folder name elsewhere is another checkout');
    assert.match(a, /slipway-kafka-checkout-a-[0-9a-f]{12}$/);
    assert.equal(checkoutDir(), ROOT);
    assert.equal(stateDir({}), defaultStateDir(ROOT));
    assert.notEqual(stateDir({}), '/tmp/slipway-kafka', 'not the folder every checkout used to share');
    assert.equal(stateDir({ SLIPWAY_KAFKA_STATE: join(dir, 'mine') }), join(dir, 'mine'));
  });

  it('uses a broker given in KAFKA_BROKERS as it is, and stops nothing', async () => {
    const run = await prepareRunBroker({ env: { KAFKA_BROKERS: '127.0.0.1:1', SLIPWAY_KAFKA_STATE: join(dir, 'x') } });
    assert.equal(run.mode, 'given');
    assert.equal(run.env.KAFKA_BROKERS, '127.0.0.1:1');
    assert.equal(await run.finish(), false);
  });

  it('stops the broker a failing run started, and removes its state', async () => {
    const env = await runEnv(join(dir, 'failing'));
    const out = join(dir, 'failing.json');
    const { code, output } = await runTests(env, out);
    assert.ok(existsSync(out), `the fixture never got a broker:\n${output}`);
    const broker = JSON.parse(readFileSync(out, 'utf8')) as { brokers: string[]; pid: number; stateDir: string };
    started.push(broker.pid);
    assert.equal(code, 1, output);
    assert.match(output, /fails on purpose/);
    assert.deepEqual(broker.brokers, [`127.0.0.1:${env.KAFKA_PORT}`]);
    assert.ok(broker.stateDir.startsWith(join(dir, 'failing-run-')), broker.stateDir);
    assert.match(output, /stopped the Kafka broker this test run started/);
    assert.equal(alive(broker.pid), false, `broker pid ${broker.pid} is still running`);
    assert.equal(existsSync(broker.stateDir), false, 'its state folder was removed');
  });

  it('stops it when the run is interrupted (Ctrl-C) while a test uses it', async () => {
    const env = await runEnv(join(dir, 'interrupted'));
    const out = join(dir, 'interrupted.json');
    const { code, output } = await runTests({ ...env, SLIPWAY_FIXTURE_MODE: 'hang' }, out, (child) =>
      child.kill('SIGINT'),
    );
    const broker = JSON.parse(readFileSync(out, 'utf8')) as { pid: number; stateDir: string };
    started.push(broker.pid);
    assert.equal(code, 130, output);
    assert.match(output, /stopped the Kafka broker this test run started/);
    assert.equal(alive(broker.pid), false, `broker pid ${broker.pid} is still running`);
    assert.equal(existsSync(broker.stateDir), false);
  });

  it('uses a broker kept up with kafka:start, leaves it running, and kafka:stop stops it', async () => {
    const env = await runEnv(join(dir, 'kept'));
    const script = (command: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
        const c = spawn(process.execPath, ['scripts/kafka-broker.mjs', command], { cwd: ROOT, env });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d) => {
          stdout += d;
        });
        c.stderr.on('data', (d) => {
          stderr += d;
        });
        c.on('close', (code) => res({ code, stdout, stderr }));
      });
    const start = await script('start');
    assert.equal(start.code, 0, start.stderr);
    assert.equal(start.stdout, `KAFKA_BROKERS=127.0.0.1:${env.KAFKA_PORT}\n`);
    const { pid } = JSON.parse(readFileSync(join(dir, 'kept', 'state.json'), 'utf8')) as { pid: number };
    started.push(pid);

    const run = await prepareRunBroker({ env });
    assert.equal(run.mode, 'running');
    assert.equal(run.env.KAFKA_BROKERS, `127.0.0.1:${env.KAFKA_PORT}`);
    assert.equal(await run.finish(), false);
    assert.equal(alive(pid), true, 'a broker the run did not start is left running');

    const stop = await script('stop');
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(alive(pid), false);
    assert.equal(existsSync(join(dir, 'kept')), false, 'stop removes the state and data');
  });

  it('sweeps the folder of a run that was killed before it could clean up', async () => {
    const base = join(dir, 'killed');
    // A pid that is not running: a child that has exited.
    const gone = await new Promise<number>((res) => {
      const c = spawn(process.execPath, ['-e', '']);
      c.on('close', () => res(c.pid as number));
    });
    const stale = `${base}-run-${gone}`;
    const live = `${base}-run-${process.pid}`;
    for (const d of [stale, live]) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'state.json'), JSON.stringify({ pid: gone, brokers: '127.0.0.1:1' }));
    }
    assert.deepEqual(await sweepStaleRuns(base, { ...process.env, SLIPWAY_KAFKA_STATE: base }), [stale]);
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(live), true, "a running run's folder is left alone");
  });
});
