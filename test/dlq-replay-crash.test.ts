import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ControlStore, type Log, openEmbeddedLog } from 'slipway';
import { openSqliteControlStore } from '../src/control/sqlite-control-store.js';
import { type DeploymentRecord, TERMINAL_STATUSES } from '../src/deploy/deployment.js';
import { checkExactlyOnce } from '../src/runtime/exactly-once-check.js';
import { OrderLoad } from './helpers/load.js';
import { buildVersions, waitForCaughtUp } from './helpers/versions.js';

// A controller SIGKILLed while it replays dead letters (at each of the replay's steps) is restarted: it resumes the
// replay, which completes with every dead letter of the rolled-back version processed exactly once by source.
// The controller runs in test/fixtures/controller-child.ts, its runners in processes of their own.

const CHILD = fileURLToPath(new URL('./fixtures/controller-child.ts', import.meta.url));
/** Liveness bound for what the test waits for; reaching it is a failure (stuck), not a timing check. */
const STUCK_MS = 60_000;
const BROKEN = { strategy: 'blue-green', bakeMs: 3000, gates: { maxDlqRatio: 0.01 } };

type Line = Record<string, unknown>;

class Child {
  readonly process: ChildProcess;
  readonly lines: Line[] = [];
  readonly exited: Promise<void>;
  #seq = 0;

  constructor(logPath: string, storePath: string, artifactsDir: string) {
    this.process = spawn(
      process.execPath,
      ['--conditions=slipway-source', '--import', 'tsx', CHILD, logPath, storePath, artifactsDir],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    createInterface({ input: this.process.stdout as NodeJS.ReadableStream }).on('line', (text) => {
      if (text.startsWith('{')) this.lines.push(JSON.parse(text) as Line);
    });
    this.process.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) => this.process.on('exit', () => resolve()));
  }

  async waitFor(what: string, match: (line: Line) => boolean): Promise<Line> {
    const deadline = Date.now() + STUCK_MS;
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      if (this.process.exitCode !== null || Date.now() > deadline) throw new Error(`no ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async request(command: Line): Promise<Line> {
    const id = ++this.#seq;
    this.process.stdin?.write(`${JSON.stringify({ ...command, id })}\n`);
    const reply = await this.waitFor(`reply to ${String(command.cmd)}`, (l) => l.reply === id);
    if (reply.error !== undefined) throw new Error(`${String(command.cmd)} refused: ${String(reply.error)}`);
    return reply;
  }

  async kill(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exited;
  }

  async close(): Promise<void> {
    this.process.stdin?.end();
    await this.exited;
  }
}

async function settled(store: ControlStore, id: string): Promise<DeploymentRecord> {
  const deadline = Date.now() + STUCK_MS;
  for (;;) {
    const record = await store.getDeployment(id);
    if (record !== undefined && (TERMINAL_STATUSES as readonly string[]).includes(record.status)) return record;
    if (Date.now() > deadline) throw new Error(`stuck: ${id} at ${record?.step}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a dead-letter replay survives a SIGKILL of the controller', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-dlq-crash-'));
  const logPath = join(dir, 'log.db');
  const storePath = join(dir, 'control.db');
  const artifactsDir = join(dir, 'artifacts');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('killed at each step of the replay, it resumes and the replay stays exactly once by source', async () => {
    const versions = await buildVersions(artifactsDir);
    const store = await openSqliteControlStore({ path: storePath });
    const load = new OrderLoad(logPath, 800);
    await load.start();
    let log: Log | undefined;
    let child = new Child(logPath, storePath, artifactsDir);
    const replayed: number[] = [];
    try {
      await child.waitFor('ready', (l) => l.ready === true);
      const deploy = async (digest: string, options: Line) =>
        settled(store, (await child.request({ cmd: 'deploy', artifact: { digest }, options })).deployed as string);
      assert.equal((await deploy(versions.v2, { strategy: 'blue-green', bakeMs: 300 })).status, 'completed');
      for (const [step, kind] of [
        ['pause-live', 'end'],
        ['replay', 'begin'],
        ['replay', 'end'],
      ] as const) {
        const broken = await deploy(versions.v3, BROKEN);
        assert.equal(broken.status, 'rolled_back');
        const dead = broken.summary.deadLettered ?? 0;
        assert.ok(dead > 0);
        const reply = await child.request({
          cmd: 'replay',
          pipeline: 'enrich-orders',
          request: { deployment: broken.id },
        });
        const id = reply.deployed as string;
        await child.waitFor(`${step} ${kind}`, (l) => l.deployment === id && l.step === step && l.kind === kind);
        await child.kill();
        child = new Child(logPath, storePath, artifactsDir);
        const ready = await child.waitFor('ready', (l) => l.ready === true);
        // Killed right after a step's last event, the controller may have finished the replay before the
        // signal landed (nothing to resume then); otherwise the restarted controller resumes it.
        const status = (await store.getDeployment(id))?.status;
        const resumed = status === 'running' || (ready.resumed as string[]).includes(id);
        assert.ok(
          resumed || (step === 'replay' && kind === 'end' && status === 'completed'),
          `the restarted controller resumes ${id} (killed at ${step} ${kind}, found ${status})`,
        );
        const done = await settled(store, id);
        assert.equal(done.status, 'completed', `killed at ${step} ${kind}: ${JSON.stringify(done.summary)}`);
        assert.equal(done.summary.replay?.replayed, dead, `killed at ${step} ${kind}`);
        replayed.push(dead);
      }
    } catch (err) {
      // The checks below would hide what went wrong here.
      console.error('the replay crash test failed before its final checks:', err);
      throw err;
    } finally {
      const sent = await load.stop();
      log = await openEmbeddedLog({ path: logPath });
      await waitForCaughtUp(log, 'slipway.enrich-orders', 'orders.v1', 4);
      await child.close();
      await store.close();
      const report = await checkExactlyOnce(log, {
        input: 'orders.v1',
        outputs: ['enriched-orders.v1'],
        dlq: 'orders.v1.dlq',
      });
      await log.close();
      assert.equal(report.inputs, sent);
      assert.equal(report.lost, 0, JSON.stringify(report.examples));
      assert.equal(report.duplicated, 0, JSON.stringify(report.examples));
      assert.equal(report.replayed, report.deadLettered);
      assert.equal(
        report.replayed,
        replayed.reduce((a, b) => a + b, 0),
      );
    }
  });
});
