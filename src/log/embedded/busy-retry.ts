const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs fn, and again while another connection holds the lock (nothing of fn was applied: its
 * transaction rolled back), waiting 50 µs, then longer, up to 2 ms between tries, until timeoutMs.
 */
export function retryBusy<T>(fn: () => T, timeoutMs: number): T {
  let started = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err)) throw err;
      const now = performance.now();
      if (attempt === 0) started = now;
      if (now - started >= timeoutMs) throw err;
      Atomics.wait(SLEEPER, 0, 0, Math.min(2, 0.05 * 2 ** Math.min(attempt, 6)));
    }
  }
}

export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}
