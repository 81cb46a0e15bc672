import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A runner in a child process (test/fixtures/kafka-crash-child.ts) and what it reported on stdout:
 * `ready` (modules loaded: waiting for `go`), `state <state> <epoch>`, `begin` / `end` around each commit, `done`.
 */
export class RunnerChild {
  readonly child: ChildProcess;
  /** Resolves with the signal that ended the child, or its exit code. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ready = false;
  begins = 0;
  ends = 0;
  standby = false;
  running = false;
  /** The epoch the runner got when it activated (fenced its owner). */
  epoch = 0;
  done = false;
  stderr = '';
  /** How long the last commit took, from `begin` to `end` as seen here. */
  lastCommitMs = 0;
  #begunAt = 0;
  #over = false;
  readonly #waiters = new Set<() => void>();

  constructor(
    script: string,
    args: string[],
    readonly stuckMs: number,
    readonly onLine: (line: string) => void = () => {},
  ) {
    this.child = spawn(process.execPath, ['--conditions=slipway-source', '--import', 'tsx', script, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) this.#line(line);
      this.#wake();
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.#over = true;
        this.#wake();
        resolve({ code, signal });
      }),
    );
  }

  get alive(): boolean {
    return !this.#over;
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  #line(line: string): void {
    this.onLine(line);
    if (line === 'ready') this.ready = true;
    else if (line === 'begin') {
      this.begins++;
      this.#begunAt = performance.now();
    } else if (line === 'end') {
      this.ends++;
      this.lastCommitMs = performance.now() - this.#begunAt;
    } else if (line === 'done') this.done = true;
    else if (line.startsWith('state ')) {
      const [, state, epoch] = line.split(' ');
      if (state === 'standby') this.standby = true;
      if (state === 'running') {
        this.running = true;
        this.epoch = Number(epoch);
      }
    }
  }

  /**
   * Resolves true once `ready()` holds, false if the child exits first. A child that gets no closer for
   * `stuckMs` is killed and this throws: a stuck restart fails the test instead of hanging it.
   */
  async until(ready: () => boolean, what: string): Promise<boolean> {
    const deadline = Date.now() + this.stuckMs;
    while (!ready()) {
      if (this.#over) return false;
      if (Date.now() > deadline) {
        this.child.kill('SIGKILL');
        throw new Error(`runner child was stuck waiting for ${what} (${this.stuckMs} ms); stderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, 1000);
        this.#waiters.add(wake);
      });
    }
    return true;
  }

  /** Starts the runner once the child is ready: `go <args>` on its stdin. */
  async go(args: string[]): Promise<void> {
    if (!(await this.until(() => this.ready, 'ready'))) {
      throw new Error(`runner child exited before it was ready: ${JSON.stringify(await this.exited)}\n${this.stderr}`);
    }
    this.child.stdin?.end(`go ${args.join(' ')}\n`);
  }

  /** SIGKILLs the child (if still alive) and waits until it is gone. */
  async kill(): Promise<void> {
    if (!this.#over) this.child.kill('SIGKILL');
    await this.exited;
  }
}
