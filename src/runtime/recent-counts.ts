// Counts over the last minute, in a ring of one-second buckets: a gate comparing two versions needs
// what each did recently (blue just before a cutover), not since it started. Adding reuses a bucket
// once its second has passed out of the window; reading only sums, so it never changes the figures.

/** The processed records and dead letters of the last `windowMs` before the moment read. */
export interface RecentWindow {
  windowMs: number;
  /** Input records processed (in the runner's key share). */
  processed: number;
  /** Of those, sent to the dead-letter topic. */
  dlq: number;
}

/** The window's length: 60 buckets of 1 s. */
const SECONDS = 60;

/**
 * Processed and dead-lettered counts over the last 60 s, by commit time.
 *
 * @example
 * const recent = new RecentCounts()
 * recent.add(Date.now(), 2000, 3)
 * recent.read(Date.now()) // { windowMs: 60000, processed: 2000, dlq: 3 }
 */
export class RecentCounts {
  /** The second (ms / 1000, floored) each bucket holds; -1: none yet. */
  readonly #second = new Float64Array(SECONDS).fill(-1);
  readonly #processed = new Float64Array(SECONDS);
  readonly #dlq = new Float64Array(SECONDS);

  /** Counts a commit at `nowMs` (ms since the epoch). */
  add(nowMs: number, processed: number, dlq: number): void {
    const second = Math.floor(nowMs / 1000);
    const slot = ((second % SECONDS) + SECONDS) % SECONDS;
    if (this.#second[slot] !== second) {
      this.#second[slot] = second;
      this.#processed[slot] = 0;
      this.#dlq[slot] = 0;
    }
    this.#processed[slot] = (this.#processed[slot] as number) + processed;
    this.#dlq[slot] = (this.#dlq[slot] as number) + dlq;
  }

  /** The counts of the 60 s up to `nowMs` (its own second included). */
  read(nowMs: number): RecentWindow {
    const now = Math.floor(nowMs / 1000);
    let processed = 0;
    let dlq = 0;
    for (let i = 0; i < SECONDS; i++) {
      const second = this.#second[i] as number;
      if (second > now - SECONDS && second <= now) {
        processed += this.#processed[i] as number;
        dlq += this.#dlq[i] as number;
      }
    }
    return { windowMs: SECONDS * 1000, processed, dlq };
  }
}
