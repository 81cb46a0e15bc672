import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { SlipwayError } from '../errors.js';
import type { PartitionOffset } from '../log/log.js';
import type { ActivateOptions, RunnerState } from '../runtime/runner.js';
import type { RunnerCommand, RunnerMessage, RunnerSpec, RunnerStats } from './protocol.js';
import type { RunnerHandle } from './runner-group.js';

type Command = RunnerCommand extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

const HOST = fileURLToPath(new URL(`./runner-host.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));
// From source (tests), the child needs the TypeScript loader and the source condition too.
const EXEC_ARGV = import.meta.url.endsWith('.ts') ? ['--conditions=slipway-source', '--import', 'tsx'] : [];

/**
 * One runner in a child process, driven over IPC. Emits `state` (RunnerState), `commit`, `dlq` and
 * `exit` (code, signal, expected). Commands reject with the runner's own error (code kept).
 */
export class RunnerProcess extends EventEmitter implements RunnerHandle {
  readonly spec: RunnerSpec;
  #child: ChildProcess | undefined;
  #seq = 0;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #state: RunnerState | 'exited' = 'created';
  #stopping = false;
  lastCommitAt = 0;

  constructor(spec: RunnerSpec) {
    super();
    this.spec = spec;
  }

  get state(): RunnerState | 'exited' {
    return this.#state;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** One process (a RunnerGroup has several). */
  get size(): number {
    return 1;
  }

  /** The owner it writes under, when the spec names one (else the runner's default for its pipeline). */
  get owners(): string[] {
    return this.spec.owner === undefined ? [] : [this.spec.owner];
  }

  /** Forks the process and starts the runner (topics created, config checked): ends in standby. */
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
        {
          retryable: true,
          details: { runner: this.spec.id, code, signal },
        },
      );
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
      this.emit('exit', code, signal, this.#stopping);
    });
    await this.#call({ cmd: 'start', spec: this.spec });
  }

  #onMessage(msg: RunnerMessage): void {
    if ('reply' in msg) {
      const p = this.#pending.get(msg.reply);
      if (p === undefined) return;
      this.#pending.delete(msg.reply);
      if (msg.ok) p.resolve(msg.result);
      else {
        const code = msg.error.code?.startsWith('SLIPWAY_')
          ? (msg.error.code as SlipwayError['code'])
          : 'SLIPWAY_RUNNER_FAILED';
        p.reject(
          new SlipwayError(code, msg.error.message, { details: { runner: this.spec.id, ...msg.error.details } }),
        );
      }
      return;
    }
    if (msg.event === 'state') this.#state = msg.state;
    if (msg.event === 'commit') this.lastCommitAt = msg.committedAt;
    this.emit(msg.event, msg);
  }

  #call(command: Command): Promise<unknown> {
    const child = this.#child;
    if (child === undefined || this.#state === 'exited' || !child.connected) {
      return Promise.reject(
        new SlipwayError('SLIPWAY_RUNNER_EXITED', `Runner ${this.spec.id} is not running.`, { retryable: true }),
      );
    }
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // With a callback, a failed write (EPIPE: the runner died since `connected` was read) rejects
      // this command; without one it is an 'error' event that would crash the controller.
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

  /** The runner's Prometheus metrics, as `Registry.getMetricsAsJSON()` gives them. */
  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    return this.#call({ cmd: 'metrics' }) as Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  }

  /** Stops the runner (finishing its batch) and waits for the process to exit. Idempotent. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#state === 'exited' || this.#child === undefined) return;
    const exited = new Promise<void>((resolve) => this.once('exit', () => resolve()));
    await this.#call({ cmd: 'stop' }).catch(() => {});
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Kills the process at once (tests, chaos). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#child?.kill(signal);
  }
}
