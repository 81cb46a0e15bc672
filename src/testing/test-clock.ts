import { SlipwayError } from '../errors.js';

/** 2026-01-01T00:00:00.000Z: a fixed start, so tests that read the clock see the same times on every run. */
export const TEST_CLOCK_START = Date.UTC(2026, 0, 1);

/**
 * A clock that moves only when told to. The harness stamps every record it sends with `now()`, so a
 * pipeline that reads `ctx.source.timestamp` (windows, timeouts, late data) sees exactly these times.
 *
 * @example
 * const clock = new TestClock()
 * const h = await createHarness(pipeline, { clock })
 * await h.send(orders, [first])
 * clock.advance(60_000) // a minute later
 * await h.send(orders, [second])
 */
export class TestClock {
  #now: number;

  constructor(start: number = TEST_CLOCK_START) {
    this.#now = TestClock.#check('start', start);
  }

  /** Milliseconds since the epoch. */
  now(): number {
    return this.#now;
  }

  /** Moves the clock forward by `ms` (≥ 0) and returns the new time. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new SlipwayError('SLIPWAY_USAGE', `TestClock.advance(ms) needs a number of ms ≥ 0, got ${ms}.`);
    }
    this.#now += ms;
    return this.#now;
  }

  /** Sets the time (milliseconds since the epoch, or a Date); it may not go backwards. */
  set(time: number | Date): number {
    const ms = TestClock.#check('set', typeof time === 'number' ? time : time.getTime());
    if (ms < this.#now) {
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `TestClock.set(${new Date(ms).toISOString()}) would go back from ${new Date(this.#now).toISOString()}; a log's time only moves forward. Make a new TestClock to start over.`,
      );
    }
    this.#now = ms;
    return this.#now;
  }

  static #check(what: string, ms: number): number {
    if (!Number.isSafeInteger(ms) || ms < 0) {
      throw new SlipwayError('SLIPWAY_USAGE', `TestClock ${what} needs whole milliseconds since the epoch, got ${ms}.`);
    }
    return ms;
  }
}
