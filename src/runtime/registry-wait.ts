/**
 * Waiting out a schema registry that cannot be reached: not a dead letter (the records are fine; the reader is
 * blind), so the runner keeps its position and asks again with backoff, telling its listeners each time
 * (`registry-unavailable` events; the CLI and the runner processes print them), and loses nothing.
 */
import { ErrorCodes, isSlipwayError } from '../errors.js';

/** What a runner tells while it waits for the registry. */
export interface RegistryUnavailableEvent {
  code: typeof ErrorCodes.SCHEMA_REGISTRY_UNAVAILABLE;
  message: string;
  /** What it was doing: `reading orders.v1/0`, `registering output schemas`, `committing`. */
  doing: string;
  /** Attempts that failed so far (1 at the first). */
  attempt: number;
  /** When it asks again. */
  retryInMs: number;
}

const FIRST_MS = 200;
const MOST_MS = 10_000;

/**
 * Runs `fn`, and again after a growing pause (200 ms doubling to 10 s) while it fails with
 * `SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE`; any other error is thrown. Stops waiting when `signal` aborts: then
 * resolves `undefined` (the caller leaves its position where it was).
 */
export async function untilRegistry<T>(
  doing: string,
  fn: () => Promise<T>,
  tell: (event: RegistryUnavailableEvent) => void,
  signal?: AbortSignal,
): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isSlipwayError(err, ErrorCodes.SCHEMA_REGISTRY_UNAVAILABLE)) throw err;
      const retryInMs = Math.min(MOST_MS, FIRST_MS * 2 ** (attempt - 1));
      tell({ code: ErrorCodes.SCHEMA_REGISTRY_UNAVAILABLE, message: err.message, doing, attempt, retryInMs });
      if (signal?.aborted) return undefined;
      const resumed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve(true);
        }, retryInMs);
        const onAbort = () => {
          clearTimeout(timer);
          resolve(false);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      if (!resumed) return undefined;
    }
  }
}

/** One line saying the runner waits for the registry, for a CLI or a runner process's output. */
export function registryLine(e: RegistryUnavailableEvent): string {
  return `${e.code}: ${e.message} (while ${e.doing}; attempt ${e.attempt}, asking again in ${(e.retryInMs / 1000).toFixed(1)} s; nothing is dead-lettered or lost)`;
}
