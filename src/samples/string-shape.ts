import { hash32 } from './distinct-counter.js';

/**
 * The shape of a string field's values, kept in its stats so drift can tell a field whose values changed from
 * one whose values are merely new: how long the values are, which kinds of characters they hold, how they
 * begin, and a small sketch of the values themselves.
 *
 * ```json
 * "shape": {
 *   "lengths":  { "5": 1200, "6": 300 },          // values by length (0…64, then 65-128, 129-256, 257+)
 *   "classes":  { "9a.": 1500 },                  // values by the kinds of characters they hold (see classesOf)
 *   "prefixes": { "s-": 1500 },                   // values by prefix (letters and a separator: `s-`, `ord_`, `user:`);
 *                                                 // "" none; the 10 most common, the rest as "(other)"
 *   "dates": 0,                                   // values that are ISO dates or date-times
 *   "sketch": { "k": 128, "values": [[1048, 31], [90210, 29], …] }
 * }
 * ```
 *
 * The sketch holds the `k` smallest 32-bit hashes of the distinct values, each with its number of occurrences
 * (a bottom-k sketch). Two sketches compared over the hash range both cover tell, without keeping the values,
 * which share of one side's values the other side holds, and how often values repeat.
 */
export interface StringShape {
  lengths: Record<string, number>;
  classes: Record<string, number>;
  prefixes: Record<string, number>;
  dates: number;
  sketch: { k: number; values: Array<[hash: number, count: number]> };
}

/** Distinct values a sketch keeps. */
export const SKETCH_SIZE = 128;
/** Prefixes kept by name; the rest are counted as `(other)`. */
const PREFIXES = 10;
/** The bucket of values without a prefix, and of prefixes past the first ten. */
export const NO_PREFIX = '';
export const OTHER_PREFIX = '(other)';

const PREFIX = /^[A-Za-z]{1,16}[-_:#]/;
const DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** The length bucket of a value: its length up to 64, then 65-128, 129-256, 257+. */
export function lengthBucket(length: number): string {
  if (length <= 64) return String(length);
  if (length <= 128) return '65-128';
  return length <= 256 ? '129-256' : '257+';
}

const CLASS_KEYS = ['9', 'a', 'A', '_', '.'] as const;

/** The kinds of characters a value holds, as bits: 1 digits, 2 lower-case, 4 upper-case, 8 spaces, 16 other. */
function classBits(value: string): number {
  let bits = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57) bits |= 1;
    else if (c >= 97 && c <= 122) bits |= 2;
    else if (c >= 65 && c <= 90) bits |= 4;
    else if (c === 32 || c === 9) bits |= 8;
    else bits |= 16;
  }
  return bits;
}

function classKey(bits: number): string {
  return CLASS_KEYS.filter((_, i) => (bits & (1 << i)) !== 0).join('');
}

/**
 * The kinds of characters a value holds, as one key: `9` digits, `a` lower-case, `A` upper-case, `_` spaces,
 * `.` anything else (punctuation, symbols, other scripts); `` for the empty string. `p-12` → `9a.`.
 */
export function classesOf(value: string): string {
  return classKey(classBits(value));
}

/** The prefix of an id-like value: up to 16 letters and a separator (`s-`, `ord_`, `user:`, `#`), else `''`. */
export function prefixOf(value: string): string {
  const c = value.charCodeAt(0) | 32; // lower-cased: a quick look before the pattern
  return c >= 97 && c <= 122 ? (PREFIX.exec(value)?.[0] ?? NO_PREFIX) : NO_PREFIX;
}

/** Collects the {@link StringShape} of a field's string values, one at a time. */
export class ShapeAccumulator {
  /** By length (the bucket is named at the end), and by class bits: numbers are cheaper keys than text. */
  readonly #lengths = new Map<number, number>();
  readonly #classes = new Map<number, number>();
  readonly #prefixes = new Map<string, number>();
  #dates = 0;
  /** Hash → occurrences, for the SKETCH_SIZE smallest hashes seen. */
  readonly #sketch = new Map<number, number>();
  #max = -1;

  add(value: string): void {
    bump(this.#lengths, value.length);
    bump(this.#classes, classBits(value));
    bump(this.#prefixes, prefixOf(value));
    if (value.length >= 10 && value.charCodeAt(4) === 45 && value.charCodeAt(7) === 45 && DATE.test(value))
      this.#dates++;
    const h = hash32(value);
    // Most values of a field with many distinct values hash past the sketch: no lookup for those.
    if (h > this.#max && this.#sketch.size >= SKETCH_SIZE) return;
    const seen = this.#sketch.get(h);
    if (seen !== undefined) this.#sketch.set(h, seen + 1);
    else if (this.#sketch.size < SKETCH_SIZE) {
      this.#sketch.set(h, 1);
      if (h > this.#max) this.#max = h;
    } else if (h < this.#max) {
      // A hash evicted here is larger than every kept one from now on: a kept value's count is exact.
      this.#sketch.delete(this.#max);
      this.#sketch.set(h, 1);
      let max = -1;
      for (const k of this.#sketch.keys()) if (k > max) max = k;
      this.#max = max;
    }
  }

  result(): StringShape {
    const prefixes = [...this.#prefixes].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
    const kept = prefixes.slice(0, PREFIXES);
    const rest = prefixes.slice(PREFIXES).reduce((n, [, c]) => n + c, 0);
    const lengths = new Map<string, number>();
    for (const [len, n] of this.#lengths) bump(lengths, lengthBucket(len), n);
    const classes = new Map<string, number>();
    for (const [bits, n] of this.#classes) bump(classes, classKey(bits), n);
    return {
      lengths: sortedRecord(lengths),
      classes: sortedRecord(classes),
      prefixes: { ...sortedRecord(new Map(kept)), ...(rest > 0 ? { [OTHER_PREFIX]: rest } : {}) },
      dates: this.#dates,
      sketch: { k: SKETCH_SIZE, values: [...this.#sketch].sort(([a], [b]) => a - b) },
    };
  }
}

function bump<K>(map: Map<K, number>, key: K, n = 1): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** Sorted by key, so stats files diff well. */
function sortedRecord(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
