import { seededRandom } from '../../src/dataset/generate.js';

/**
 * The random numbers of a chaos test (kill timing, which runner, sleeps), from a seed printed when the test
 * starts, so a failure can be replayed: `SLIPWAY_CHAOS_SEED=<seed> npm test -- test/<file>`. Timing on a
 * shared machine still varies between runs; the seed fixes every choice the test makes.
 */
export function chaosRandom(test: string): {
  next: () => number;
  between: (from: number, to: number) => number;
  seed: number;
} {
  const given = process.env.SLIPWAY_CHAOS_SEED;
  const seed = given !== undefined && given !== '' ? Number(given) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  process.stderr.write(`[${test}] chaos seed ${seed} (replay: SLIPWAY_CHAOS_SEED=${seed})\n`);
  const next = seededRandom(seed);
  /** A whole number in [from, to). */
  const between = (from: number, to: number) => from + Math.floor(next() * (to - from));
  return { next, between, seed };
}
