import { hash32 } from '../dataset/key-hash.js';

/**
 * A HyperLogLog distinct-value estimate (2^14 registers, about 0.8% standard error), used by stats once a field
 * has more distinct values than it is worth counting exactly.
 */
const P = 14;
const M = 1 << P;

// A 32-bit hash of a text (FNV-1a with murmur3's finaliser): well spread, for sketches and estimates.
export { hash32 };

export class DistinctCounter {
  readonly #registers = new Uint8Array(M);

  /** Adds a scalar value; `1` and `'1'` count as different values. */
  add(value: string | number | boolean): void {
    const h = hash32(`${typeof value}:${String(value)}`);
    const index = h >>> (32 - P);
    const rest = (h << P) >>> 0;
    const rank = rest === 0 ? 32 - P + 1 : Math.clz32(rest) + 1;
    if (rank > (this.#registers[index] as number)) this.#registers[index] = rank;
  }

  estimate(): number {
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < M; i++) {
      const r = this.#registers[i] as number;
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / M);
    const raw = (alpha * M * M) / sum;
    // Small ranges: linear counting is more accurate while registers are still empty.
    if (raw <= 2.5 * M && zeros > 0) return Math.round(M * Math.log(M / zeros));
    return Math.round(raw);
  }
}
