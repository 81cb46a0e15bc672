/**
 * Retention of a dataset's topic: how long records are kept. Declared as milliseconds or as text
 * (`'7d'`, `'12h'`, `'90m'`, `'30s'`, `'500ms'`, `'2w'`), or `'forever'` (= -1, Kafka's "no time limit").
 */

/** -1: records are kept forever (Kafka's `retention.ms=-1`). */
export const RETENTION_FOREVER = -1;

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const TEXT = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/;

/**
 * Parses a retention declaration into milliseconds (-1 = forever); returns an error message (a string
 * starting with "retention") when it is not valid.
 *
 * @example
 * parseRetention('7d') // 604800000
 */
export function parseRetention(value: unknown): { ms: number } | { error: string } {
  const hint = "use a whole number of ms ≥ 1, text like '7d', '12h', '30m', or 'forever'";
  if (value === 'forever' || value === -1) return { ms: RETENTION_FOREVER };
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 1) return { ms: value };
    return { error: `retention ${value} is not valid: ${hint}` };
  }
  if (typeof value === 'string') {
    const m = TEXT.exec(value);
    if (m !== null) {
      const ms = Number(m[1]) * (UNITS[m[2] as string] as number);
      if (Number.isSafeInteger(ms) && ms >= 1) return { ms };
    }
    return { error: `retention '${value}' is not valid: ${hint}` };
  }
  return { error: `retention must be a number or a string, got ${value === null ? 'null' : typeof value}: ${hint}` };
}

/** A retention in ms as short text: `7d`, `36h`, `forever`; exact (`90061001` stays `90061001ms`). */
export function formatRetention(ms: number | undefined): string {
  if (ms === undefined) return '(not declared)';
  if (ms < 0) return 'forever';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNITS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
