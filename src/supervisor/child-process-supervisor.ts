import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { type ErrorJSON, errorFromJSON, SlipwayError } from '../errors.js';
import type { PartitionOffset } from '../log/log.js';
import type { ActivateOptions, ReplayRequest, ReplayResult, StateMigrationResult } from '../runtime/runner.js';
import type { RunnerCommand, RunnerMessage } from './protocol.js';
import type {
  HandleState,
  RunnerExit,
  RunnerHandle,
  RunnerSpec,
  RunnerStats,
  RunnerSupervisor,
  SampleInput,
  SampleOutput,
} from './supervisor.js';

type Command = RunnerCommand extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

const HOST = fileURLToPath(new URL(`./runner-host.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));
// From source (tests), the child needs the TypeScript loader and the source condition too.
const EXEC_ARGV = import.meta.url.endsWith('.ts') ? ['--conditions=slipway-source', '--import', 'tsx'] : [];

/**
 * One runner in a child process, driven over IPC (protocol.ts). Commands reject with the runner's own
 * error (code, retryable flag and details kept); a command to a runner whose process is gone rejects
 * with `SLIPWAY_RUNNER_EXITED`.
 */
export class RunnerProcess extends EventEmitter implements RunnerHandle {
  readonly spec: RunnerSpec;
  readonly #artifactsDir: string;
  #child: ChildProcess | undefined;
  #seq = 0;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #state: HandleState = 'created';
  #stopping = false;
  #failure: ErrorJSON | undefined;
  lastCommitAt = 0;

  constructor(spec: RunnerSpec, artifactsDir: string) {
    super();
    this.spec = spec;
    this.#artifactsDir = artifactsDir;
  }

  get state(): HandleState {
    return this.#state;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get size(): number {
    return 1;
  }

  get owners(): string[] {
    return this.spec.owner === undefined ? [] : [this.spec.owner];
  }

  /** Forks the process and starts the runner (artifact loaded, config checked, topics created): ends in standby. */
  async start(): Promise<void> {
    const child = fork(HOST, [], {
      execArgv: EXEC_ARGV,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, SLIPWAY_RUNNER_ID: this.spec.id },
    });
    this.#child = child;
    child.on('message', (msg: RunnerMessage) => this.#onMessage(msg));
    child.on('exit', (code, signal) => {
      this.#state = 'exited';
      const err = new SlipwayError(
        'SLIPWAY_RUNNER_EXITED',
        `Runner ${this.spec.id} exited (${signal ?? `code ${code}`}).`,
        { retryable: true, details: { runner: this.spec.id, code, signal } },
      );
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
      this.emit('state', 'exited');
      this.emit('exit', {
        code,
        signal,
        expected: this.#stopping,
        ...(this.#failure === undefined ? {} : { error: this.#failure }),
      } satisfies RunnerExit);
    });
    try {
      await this.#call({ cmd: 'start', spec: this.spec, artifactsDir: this.#artifactsDir });
      // A started runner is in standby (its state events from the start came before anyone listened).
      if (this.#state === 'created') this.#state = 'standby';
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  #onMessage(msg: RunnerMessage): void {
    if ('reply' in msg) {
      const p = this.#pending.get(msg.reply);
      if (p === undefined) return;
      this.#pending.delete(msg.reply);
      if (msg.ok) p.resolve(msg.result);
      else {
        const err = errorFromJSON(msg.error);
        err.details.runner ??= this.spec.id;
        p.reject(err);
      }
      return;
    }
    switch (msg.event) {
      case 'state':
        if (this.#state !== 'exited') this.#state = msg.state;
        this.emit('state', msg.state);
        return;
      case 'commit': {
        const { event: _e, ...commit } = msg;
        this.lastCommitAt = commit.committedAt;
        this.emit('commit', commit);
        return;
      }
      case 'dlq': {
        const { event: _e, ...letter } = msg;
        this.emit('dlq', letter);
        return;
      }
      case 'failed':
        this.#failure = msg.error;
        this.emit('failed', msg.error);
        return;
    }
  }

  #call(command: Command): Promise<unknown> {
    const child = this.#child;
    if (child === undefined || this.#state === 'exited' || !child.connected) {
      return Promise.reject(
        new SlipwayError('SLIPWAY_RUNNER_EXITED', `Runner ${this.spec.id} is not running.`, { retryable: true }),
      );
    }
    const id = ++this.#seq;
    return new Promise((resolvePromise, reject) => {
      this.#pending.set(id, { resolve: resolvePromise, reject });
      // With a callback, a failed write (EPIPE: the runner died since `connected` was read) rejects
      // this command; without one it is an 'error' event that would crash the supervisor.
      child.send({ ...command, id } as RunnerCommand, (err) => {
        if (err === null || !this.#pending.has(id)) return;
        this.#pending.delete(id);
        reject(
          new SlipwayError('SLIPWAY_RUNNER_EXITED', `Runner ${this.spec.id} is not running.`, {
            retryable: true,
            cause: err,
          }),
        );
      });
    });
  }

  activate(options: ActivateOptions = {}): Promise<void> {
    return this.#call({ cmd: 'activate', ...options }) as Promise<void>;
  }

  pause(): Promise<PartitionOffset[]> {
    return this.#call({ cmd: 'pause' }) as Promise<PartitionOffset[]>;
  }

  runUntil(offsets: PartitionOffset[], epoch?: number): Promise<PartitionOffset[]> {
    return this.#call({ cmd: 'runUntil', offsets, ...(epoch === undefined ? {} : { epoch }) }) as Promise<
      PartitionOffset[]
    >;
  }

  stats(): Promise<RunnerStats> {
    return this.#call({ cmd: 'stats' }) as Promise<RunnerStats>;
  }

  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    return this.#call({ cmd: 'metrics' }) as Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  }

  sample(inputs: SampleInput[]): Promise<SampleOutput[]> {
    return this.#call({ cmd: 'sample', inputs }) as Promise<SampleOutput[]>;
  }

  replayDeadLetters(request: ReplayRequest): Promise<ReplayResult> {
    return this.#call({ cmd: 'replayDeadLetters', request }) as Promise<ReplayResult>;
  }

  migrateState(version: number, epoch?: number): Promise<StateMigrationResult> {
    return this.#call({
      cmd: 'migrateState',
      version,
      ...(epoch === undefined ? {} : { epoch }),
    }) as Promise<StateMigrationResult>;
  }

  /** Stops the runner (finishing its batch) and waits for the process to exit. Idempotent. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#state === 'exited' || this.#child === undefined) return;
    const exited = new Promise<void>((r) => this.once('exit', () => r()));
    await this.#call({ cmd: 'stop' }).catch(() => {});
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#child?.kill(signal);
  }
}

/**
 * Runs each runner in a child process of its own on this machine (what the daemon and `slipway run
 * --runners` use): a runner that crashes takes nothing else down, and a SIGKILL is a real crash.
 *
 * @example
 * const supervisor = new ChildProcessSupervisor({ artifactsDir: '.slipway/artifacts' })
 * const runner = await supervisor.start({ id: 'r1', digest, pipeline: 'enrich-orders', log })
 * await runner.activate()
 */
export class ChildProcessSupervisor implements RunnerSupervisor {
  readonly kind = 'child-process';
  readonly artifactsDir: string;
  readonly #running = new Set<RunnerProcess>();

  constructor(options: { artifactsDir: string }) {
    this.artifactsDir = resolve(options.artifactsDir);
  }

  async start(spec: RunnerSpec): Promise<RunnerProcess> {
    const runner = new RunnerProcess(spec, this.artifactsDir);
    this.#running.add(runner);
    runner.once('exit', () => this.#running.delete(runner));
    await runner.start();
    return runner;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#running].map((r) => r.stop()));
  }
}
