import type { Log, LogRecord } from '../log/log.js';

/**
 * Commit times of every record of a topic (every partition), sorted: what `longestGap` reads to tell
 * how long a handoff kept output from flowing, as a consumer of the topic saw it.
 */
export async function outputTimes(log: Log, topic: string): Promise<number[]> {
  const info = await log.describeTopic(topic);
  const times: number[] = [];
  for (let p = 0; p < (info?.partitions ?? 0); p++) {
    let offset = 0;
    for (;;) {
      const records = await log.read(topic, p, offset, 20_000);
      if (records.length === 0) break;
      for (const r of records) times.push(r.timestamp);
      offset = (records.at(-1) as LogRecord).offset + 1;
    }
  }
  return times.sort((a, b) => a - b);
}

/**
 * The silence around a handoff: the longest gap between consecutive output commits that overlaps the
 * window [from, to] (the last commit before it to the first commit after it), in ms. Zero downtime,
 * measured: under steady load it is the cutover's pause plus the time between two commits.
 *
 * @example
 * const gap = longestGap(await outputTimes(log, 'enriched-orders.v1'), cutoverBegan, cutoverEnded)
 */
export function longestGap(times: readonly number[], from: number, to: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((times[mid] as number) < from) lo = mid + 1;
    else hi = mid;
  }
  let gap = 0;
  for (let i = Math.max(1, lo); i < times.length && (times[i - 1] as number) <= to; i++) {
    gap = Math.max(gap, (times[i] as number) - (times[i - 1] as number));
  }
  return gap;
}
