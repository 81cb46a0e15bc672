import type { WaitOptions } from '../log.js';

/**
 * How the embedded log's `waitForChange` notices new commits: at once for a commit made through this
 * connection (`notify`), and by polling SQLite's `PRAGMA data_version`, which changes when another
 * connection (another process, or the commit thread) has committed, for the rest.
 */
export class ChangeWatcher {
  readonly #waiters = new Set<() => void>();
  readonly #dataVersion: () => number;
  readonly #pollIntervalMs: number;
  #version: number;
  #closed = false;

  constructor(dataVersion: () => number, pollIntervalMs: number) {
    this.#dataVersion = dataVersion;
    this.#pollIntervalMs = pollIntervalMs;
    this.#version = dataVersion();
  }

  /** Wakes every waiter: something was committed through this connection. */
  notify(): void {
    for (const wake of this.#waiters) wake();
  }

  /** Stops polling for good; waiters wake, later waits resolve false at once. */
  close(): void {
    this.#closed = true;
    this.notify();
  }

  /** Resolves true on a change, false on the timeout, the abort signal, or a closed log. */
  wait(options: WaitOptions): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise<boolean>((resolvePromise) => {
      let timer: NodeJS.Timeout | undefined;
      let poll: NodeJS.Timeout | undefined;
      const finish = (changed: boolean): void => {
        clearTimeout(timer);
        clearTimeout(poll);
        this.#waiters.delete(wake);
        options.signal?.removeEventListener('abort', onAbort);
        resolvePromise(changed);
      };
      const wake = (): void => finish(true);
      const onAbort = (): void => finish(false);
      const check = (): void => {
        if (this.#closed) {
          finish(false);
          return;
        }
        let version: number;
        try {
          version = this.#dataVersion();
        } catch {
          finish(true);
          return;
        }
        if (version !== this.#version) {
          this.#version = version;
          finish(true);
          return;
        }
        poll = setTimeout(check, this.#pollIntervalMs);
      };
      if (options.signal?.aborted) return resolvePromise(false);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(wake);
      timer = setTimeout(() => finish(false), options.timeoutMs);
      check();
    });
  }
}
