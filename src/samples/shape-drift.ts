import { type CategoricalShift, categoricalShift, zTwoProportions } from './significance.js';
import { NO_PREFIX, OTHER_PREFIX, type StringShape } from './string-shape.js';

/** The thresholds {@link compareStringShapes} uses (see DriftThresholds). */
export interface ShapeThresholds {
  shapeShift: number;
  valueShift: number;
  z: number;
  minCount: number;
}

const pct = (x: number): string => `${(x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0)}%`;

/**
 * How the values of a string field changed between a sample (`base`) and newer data (`current`), beyond
 * what sampling explains: one readable reason each.
 *
 * The shape — lengths, kinds of characters, prefixes — is compared for every string field, so a unique id
 * whose values are always new passes while it keeps its shape, and is reported once it changes format.
 * The values themselves are compared through the two sketches: where the sample's values repeat (a sensor,
 * a customer, a status), newer data should mostly hold values the sample holds; when it holds far fewer than
 * the sample's own repeats predict (Good–Turing: the share of occurrences on values seen more than once),
 * the values changed. A field whose values repeat much more than they did (an id stuck on one value) is
 * reported too. Dates and date-times, which move by nature, are compared by shape only.
 */
export function compareStringShapes(base: StringShape, current: StringShape, t: ShapeThresholds): string[] {
  const reasons: string[] = [];
  const nb = total(base.lengths);
  const nc = total(current.lengths);
  if (nb < t.minCount || nc < t.minCount) return reasons;

  const lengths = categoricalShift(base.lengths, current.lengths, t.z);
  const mb = medianLength(base.lengths);
  const mc = medianLength(current.lengths);
  // An id that grew a digit is the same id: lengths count once the typical length moved by 2 or 20%.
  if (shifted(lengths, t) && Math.abs(mc - mb) >= Math.max(2, 0.2 * mb)) {
    reasons.push(`lengths changed: ${describe(lengths, lengthLabel)}, median ${mb} → ${mc} chars`);
  }
  const classes = categoricalShift(base.classes, current.classes, t.z);
  if (shifted(classes, t)) reasons.push(`characters changed: ${describe(classes, classesLabel)}`);
  const prefixes = categoricalShift(base.prefixes, current.prefixes, t.z);
  if (shifted(prefixes, t)) reasons.push(`prefix changed: ${describe(prefixes, prefixLabel)}`);

  if (base.dates / nb < 0.5 && current.dates / nc < 0.5) reasons.push(...compareValues(base, current, nb, nc, t));
  return reasons;
}

function shifted(shift: CategoricalShift | undefined, t: ShapeThresholds): shift is CategoricalShift {
  return shift?.significant === true && shift.tv >= t.shapeShift;
}

/** `"s-" 100% → 0% (now mostly "sensor-")`. */
function describe(shift: CategoricalShift, label: (key: string) => string): string {
  const { key, base, current } = shift.moved;
  const [topBase, topCurrent] = shift.top;
  const now = topCurrent !== key && topCurrent !== topBase ? ` (now mostly ${label(topCurrent)})` : '';
  return `${label(key)} ${pct(base)} → ${pct(current)}${now}`;
}

const lengthLabel = (key: string): string => `${key} chars`;

const CLASS_NAMES: Record<string, string> = {
  '9': 'digits',
  a: 'lower-case',
  A: 'upper-case',
  _: 'spaces',
  '.': 'punctuation',
};
const classesLabel = (key: string): string =>
  key === '' ? 'empty' : [...key].map((c) => CLASS_NAMES[c] ?? c).join('+');

const prefixLabel = (key: string): string =>
  key === NO_PREFIX ? 'no prefix' : key === OTHER_PREFIX ? 'other prefixes' : JSON.stringify(key);

function total(counts: Readonly<Record<string, number>>): number {
  let n = 0;
  for (const c of Object.values(counts)) n += c;
  return n;
}

/** The median length, from lengths by bucket (a bucket past 64 counts as its lower bound). */
function medianLength(lengths: Readonly<Record<string, number>>): number {
  const entries = Object.entries(lengths)
    .map(([k, c]) => [Number.parseInt(k, 10), c] as const)
    .sort(([a], [b]) => a - b);
  const half = total(lengths) / 2;
  let seen = 0;
  for (const [len, c] of entries) {
    seen += c;
    if (seen >= half) return len;
  }
  return 0;
}

/** The largest hash a sketch covers: all of them unless it is full. */
function limitOf(shape: StringShape): number {
  const v = shape.sketch.values;
  return v.length >= shape.sketch.k ? (v.at(-1) as [number, number])[0] : Number.POSITIVE_INFINITY;
}

function compareValues(base: StringShape, current: StringShape, nb: number, nc: number, t: ShapeThresholds): string[] {
  const reasons: string[] = [];
  // Good–Turing: the share of new draws that hit a value the sample holds is about the share of the sample's
  // occurrences on values it holds more than once. Each side's own sketch estimates its repeats.
  const expected = repeatShare(base.sketch.values);
  const repeats = repeatShare(current.sketch.values);
  const sb = occurrences(base.sketch.values);
  const sc = occurrences(current.sketch.values);
  if (sb < t.minCount || sc < t.minCount) return reasons;

  // Which share of the current values the sample holds: over the hash range both sketches cover.
  const limit = Math.min(limitOf(base), limitOf(current));
  const b = base.sketch.values.filter(([h]) => h <= limit);
  const c = current.sketch.values.filter(([h]) => h <= limit);
  const inC = occurrences(c);
  if (occurrences(b) >= t.minCount && inC >= t.minCount) {
    const known = new Set(b.map(([h]) => h));
    const seen = c.reduce((n, [h, k]) => n + (known.has(h) ? k : 0), 0) / inC;
    if (expected - seen >= t.valueShift && zTwoProportions(expected, sb, seen, inC) >= t.z) {
      reasons.push(
        `values changed: ${pct(seen)} of values are ones the sample holds, where about ${pct(expected)} would be (its values repeat)`,
      );
    }
  }
  // How often values repeat depends on how many were drawn: compared only between samples of similar size.
  const similar = nc <= 1.5 * nb && nb <= 1.5 * nc;
  if (similar && repeats - expected >= t.valueShift && zTwoProportions(expected, sb, repeats, sc) >= t.z) {
    reasons.push(`values repeat: ${pct(expected)} → ${pct(repeats)} of values occur more than once`);
  }
  return reasons;
}

function occurrences(values: ReadonlyArray<readonly [number, number]>): number {
  let n = 0;
  for (const [, k] of values) n += k;
  return n;
}

/** The share of occurrences on values that occur more than once. */
function repeatShare(values: ReadonlyArray<readonly [number, number]>): number {
  let repeated = 0;
  for (const [, k] of values) if (k > 1) repeated += k;
  return repeated / Math.max(1, occurrences(values));
}
