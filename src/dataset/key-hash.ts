/**
 * The stable hash of record keys and other texts, shared by everything that must give a key the same place
 * everywhere and forever: toggle shares (toggle-setting.ts), canary key buckets (runner-types.ts), sample
 * buckets (samples/reservoir.ts) and distinct-value sketches (samples/distinct-counter.ts). FNV-1a over UTF-16
 * code units, then murmur3's finaliser where the low bits must be well spread. Changing either function moves
 * keys between toggle variants, canary shares and sample buckets: never do.
 */

/** FNV-1a's offset basis: the state to start hashing from. */
export const FNV_OFFSET = 0x811c9dc5;

/** FNV-1a's state after hashing `text` from `state` (FNV_OFFSET, or a prefix's state to hash on from). */
export function fnv1a(state: number, text: string): number {
  let h = state;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/** murmur3's 32-bit finaliser: spreads a hash's bits (FNV's low bits follow the last characters). Unsigned. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A well spread, unsigned 32-bit hash of a text: FNV-1a, then murmur3's finaliser. */
export function hash32(text: string): number {
  return fmix32(fnv1a(FNV_OFFSET, text));
}
