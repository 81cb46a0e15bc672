/**
 * Topic settings recorded by Slipway for engines that keep none natively (the embedded log): one record per
 * change in the internal topic `__slipway-topic-settings`, keyed by topic; the last record of a key wins.
 * Recorded retention is reported, not enforced (the embedded log keeps every record).
 */
import type { Log } from '../log/log.js';

/** The internal topic holding recorded settings (hidden from `slipway topics`). */
export const SETTINGS_TOPIC = '__slipway-topic-settings';

export interface RecordedSettings {
  retentionMs?: number;
}

/** Every topic's recorded settings. */
export async function readRecordedSettings(log: Log): Promise<Map<string, RecordedSettings>> {
  const out = new Map<string, RecordedSettings>();
  if ((await log.describeTopic(SETTINGS_TOPIC)) === undefined) return out;
  for (let from = 0; ; ) {
    const records = await log.read(SETTINGS_TOPIC, 0, from, 10_000);
    if (records.length === 0) return out;
    for (const r of records) {
      if (r.key === null) continue;
      try {
        const value = JSON.parse(r.value) as RecordedSettings;
        out.set(r.key, typeof value.retentionMs === 'number' ? { retentionMs: value.retentionMs } : {});
      } catch {
        // A record that is not ours: ignored.
      }
    }
    from = (records.at(-1) as { offset: number }).offset + 1;
  }
}

/** Records settings of topics (appended in one call). */
export async function recordSettings(log: Log, settings: ReadonlyArray<[topic: string, RecordedSettings]>) {
  if (settings.length === 0) return;
  await log.createTopic(SETTINGS_TOPIC, { partitions: 1 });
  await log.append(
    SETTINGS_TOPIC,
    settings.map(([topic, s]) => ({ partition: 0, key: topic, value: JSON.stringify(s) })),
  );
}
