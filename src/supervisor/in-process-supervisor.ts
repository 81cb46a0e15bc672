import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { type ErrorJSON, SlipwayError } from '../errors.js';
import type { PartitionOffset } from '../log/log.js';
import type {
  ActivateOptions,
  ReplayRequest,
  ReplayResult,
  RunnerState,
  StateMigrationResult,
} from '../runtime/runner.js';
import { RunnerSession } from './runner-session.js';
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

let pids = 0;

/**
 * A runner in this process, behind the same handle as a runner process: the real `Runner` on its
 * own log connection. `kill()` is a crash: the log is closed under the runner, so nothing after the
 * commit in flight is written, commands in flight reject with `SLIPWAY_RUNNER_EXITED`, and `exit`
 * reports it as unexpected.
 */
export class InProcessRunner extends EventEmitter implements RunnerHandle {
  readonly spec: RunnerSpec;
  readonly #session: RunnerSession;
  /** A number that names this runner in messages (it has no process of its own). */
  readonly #id = ++pids;
  #exited = false;
  #stopping: Promise<void> | undefined;
  #failure: ErrorJSON | undefined;
  #onExit: Array<(err: Error) => void> = [];
  lastCommitAt = 0;

  constructor(session: RunnerSession) {
    super();
    this.spec = session.spec;
    this.#session = session;
    // Nothing is reported after a crash: a killed runner's last gasps are not events.
    session.on('state', (state: RunnerState) => {
      if (!this.#exited) this.emit('state', state);
    });
    session.on('commit', (e: { committedAt: number }) => {
      if (this.#exited) return;
      this.lastCommitAt = e.committedAt;
      this.emit('commit', e);
    });
    session.on('dlq', (e) => {
      if (!this.#exited) this.emit('dlq', e);
    });
    session.on('failed', (error: ErrorJSON) => {
      if (this.#exited) return;
      this.#failure = error;
      this.emit('failed', error);
    });
  }

  get state(): HandleState {
    return this.#exited ? 'exited' : this.#session.runner.state;
  }

  get pid(): number | undefined {
    return undefined;
  }

  get size(): number {
    return 1;
  }

  get owners(): string[] {
    return this.spec.owner === undefined ? [] : [this.spec.owner];
  }

  /** Runs a command unless the runner is gone; a kill while it runs rejects it as a crash would. */
  #call<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.#exited) {
      return Promise.reject(
        new SlipwayError('SLIPWAY_RUNNER_EXITED', `Runner ${this.spec.id} is not running.`, { retryable: true }),
      );
    }
    return new Promise<T>((resolvePromise, reject) => {
      const onExit = (err: Error): void => reject(err);
      this.#onExit.push(onExit);
      Promise.resolve()
        .then(fn)
        .then(resolvePromise, reject)
        .finally(() => {
          this.#onExit = this.#onExit.filter((f) => f !== onExit);
        });
    });
  }

  activate(options: ActivateOptions = {}): Promise<void> {
    return this.#call(() => this.#session.runner.activate(options));
  }

  pause(): Promise<PartitionOffset[]> {
    return this.#call(() => this.#session.runner.pause());
  }

  runUntil(offsets: PartitionOffset[], epoch?: number): Promise<PartitionOffset[]> {
    return this.#call(() => this.#session.runner.runUntil(offsets, epoch === undefined ? {} : { epoch }));
  }

  stats(): Promise<RunnerStats> {
    return this.#call(() => this.#session.stats());
  }

  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    return this.#call(() => this.#session.metrics());
  }

  sample(inputs: SampleInput[]): Promise<SampleOutput[]> {
    return this.#call(() => this.#session.sample(inputs));
  }

  replayDeadLetters(request: ReplayRequest): Promise<ReplayResult> {
    return this.#call(() => this.#session.runner.replayDeadLetters(request));
  }

  migrateState(version: number, epoch?: number): Promise<StateMigrationResult> {
    return this.#call(() => this.#session.runner.migrateState(version, epoch === undefined ? {} : { epoch }));
  }

  #exit(exit: RunnerExit): void {
    if (this.#exited) return;
    this.#exited = true;
    const err = new SlipwayError(
      'SLIPWAY_RUNNER_EXITED',
      `Runner ${this.spec.id} (in-process #${this.#id}) exited (${exit.signal ?? `code ${exit.code}`}).`,
      { retryable: true, details: { runner: this.spec.id, code: exit.code, signal: exit.signal } },
    );
    for (const reject of this.#onExit) reject(err);
    this.#onExit = [];
    this.emit('state', 'exited');
    this.emit('exit', { ...exit, ...(this.#failure === undefined ? {} : { error: this.#failure }) });
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#exited) return;
      await this.#session.close().catch(() => {});
      this.#exit({ code: 0, signal: null, expected: true });
    })();
    return this.#stopping;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#exited) return;
    // The log goes first: whatever the runner does next cannot reach it.
    void this.#session.log.close().catch(() => {});
    this.#exit({ code: null, signal, expected: false });
    void this.#session.runner.stop().catch(() => {});
  }
}

/**
 * Runs runners in this process, each a real `Runner` on its own connection to the log: the same
 * handoffs, fencing and exactly-once commits as runner processes, without the cost of a process per
 * runner. For controller and strategy tests, and tools that drive a few runners; a crash (`kill`)
 * takes only that runner down. The daemon uses the child-process supervisor, which never loads user
 * code into the control plane's process.
 *
 * @example
 * const supervisor = new InProcessSupervisor({ artifactsDir })
 * const controller = new Controller({ store, supervisor, artifacts, log })
 */
export class InProcessSupervisor implements RunnerSupervisor {
  readonly kind = 'in-process';
  readonly artifactsDir: string;
  readonly #running = new Set<InProcessRunner>();

  constructor(options: { artifactsDir: string }) {
    this.artifactsDir = resolve(options.artifactsDir);
  }

  async start(spec: RunnerSpec): Promise<InProcessRunner> {
    const runner = new InProcessRunner(await RunnerSession.open(spec, this.artifactsDir));
    this.#running.add(runner);
    runner.once('exit', () => this.#running.delete(runner));
    return runner;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#running].map((r) => r.stop()));
  }
}
