import { SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { checkToggleSetting, type ToggleSetting } from './toggle-setting.js';

/**
 * The topic that holds an environment's toggle changes, one record per change, in order. It lives on the
 * environment's log (inside its namespace), so each environment has its own toggles, and every runner of
 * that environment reads the same changes in the same order. A change's version is its offset + 1.
 */
export const TOGGLE_TOPIC = 'slipway.toggles';

/** One recorded change of a toggle. */
export interface ToggleChange {
  toggle: string;
  /** The new setting; null clears it (every record gets the default). */
  setting: ToggleSetting | null;
  /** Who made it (`$USER`, or the rollout that set it back). */
  by: string;
  /** ISO time of the change. */
  at: string;
  /** Why, when a tool made it: `rollout step 2/4`, `rollout set back: gate dlq-ratio failed …`. */
  reason?: string;
}

/** A change as read back, with its version. */
export interface ToggleChangeEntry extends ToggleChange {
  version: number;
}

/** Every toggle's setting at one version of the environment's toggles. */
export interface ToggleSnapshot {
  /** How many changes it includes (0: none yet). Output headers carry it. */
  readonly version: number;
  readonly settings: ReadonlyMap<string, ToggleChangeEntry>;
}

export const EMPTY_SNAPSHOT: ToggleSnapshot = Object.freeze({ version: 0, settings: new Map() });

/** Where a runner gets its toggles: the latest snapshot, and a way to look for newer changes. */
export interface ToggleSource {
  current(): ToggleSnapshot;
  /** Reads changes made since the last look; resolves when `current()` shows them. */
  refresh(): Promise<void>;
}

async function ensureTopic(log: Log): Promise<void> {
  if ((await log.describeTopic(TOGGLE_TOPIC)) === undefined) await log.createTopic(TOGGLE_TOPIC, { partitions: 1 });
}

/**
 * Records a toggle change on the environment's log; running pipelines pick it up within a second.
 * Returns the change with its version.
 *
 * @example
 * await setToggle(log, { toggle: 'new-pricing', setting: { percent: 10, where: [{ field: 'currency', op: 'eq', value: 'EUR' }] }, by: 'ana' })
 */
export async function setToggle(
  log: Log,
  change: Omit<ToggleChange, 'at'> & { at?: string },
): Promise<ToggleChangeEntry> {
  if (typeof change.toggle !== 'string' || !/^[a-z][a-z0-9_-]{0,99}$/.test(change.toggle))
    throw new SlipwayError('SLIPWAY_INVALID_TOGGLE', `'${String(change.toggle)}' is not a toggle name.`, {
      details: { field: 'toggle' },
    });
  const setting = change.setting === null ? null : checkToggleSetting(change.setting);
  const full: ToggleChange = {
    toggle: change.toggle,
    setting,
    by: change.by,
    at: change.at ?? new Date().toISOString(),
    ...(change.reason === undefined ? {} : { reason: change.reason }),
  };
  await ensureTopic(log);
  const [offset] = await log.append(TOGGLE_TOPIC, [{ partition: 0, key: change.toggle, value: JSON.stringify(full) }]);
  return { ...full, version: (offset as number) + 1 };
}

/** Every change recorded on the log, oldest first (none when the topic does not exist yet). */
export async function readToggleHistory(log: Log, fromVersion = 0): Promise<ToggleChangeEntry[]> {
  if ((await log.describeTopic(TOGGLE_TOPIC)) === undefined) return [];
  const out: ToggleChangeEntry[] = [];
  let from = fromVersion;
  for (;;) {
    const records = await log.read(TOGGLE_TOPIC, 0, from, 1000);
    if (records.length === 0) break;
    for (const r of records) {
      const entry = parseChange(r.value, r.offset + 1);
      if (entry !== undefined) out.push(entry);
    }
    from = (records.at(-1)?.offset as number) + 1;
  }
  return out;
}

function parseChange(text: string, version: number): ToggleChangeEntry | undefined {
  try {
    const c = JSON.parse(text) as ToggleChange;
    if (typeof c.toggle !== 'string') return undefined;
    return { ...c, setting: c.setting === null ? null : checkToggleSetting(c.setting), version };
  } catch {
    // A change that no longer reads (written by hand) is passed over: its version still counts.
    return undefined;
  }
}

/** The snapshot after `changes` (applied in order) on top of `base`. */
export function applyChanges(
  base: ToggleSnapshot,
  changes: readonly ToggleChangeEntry[],
  version?: number,
): ToggleSnapshot {
  if (changes.length === 0 && version === undefined) return base;
  const settings = new Map(base.settings);
  let v = base.version;
  for (const c of changes) {
    settings.set(c.toggle, c);
    v = Math.max(v, c.version);
  }
  return Object.freeze({ version: Math.max(v, version ?? 0), settings });
}

/** The snapshot at `version` (the first `version` changes) from a history. */
export function snapshotAt(history: readonly ToggleChangeEntry[], version: number): ToggleSnapshot {
  return applyChanges(
    EMPTY_SNAPSHOT,
    history.filter((c) => c.version <= version),
    version,
  );
}

/**
 * Follows the toggle topic of a log: `refresh()` reads the changes appended since the last look (one
 * cheap end-offset check when there are none).
 */
export class LogToggleSource implements ToggleSource {
  readonly #log: Log;
  #snapshot: ToggleSnapshot = EMPTY_SNAPSHOT;
  #refreshing: Promise<void> | undefined;

  constructor(log: Log) {
    this.#log = log;
  }

  current(): ToggleSnapshot {
    return this.#snapshot;
  }

  refresh(): Promise<void> {
    this.#refreshing ??= this.#read().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #read(): Promise<void> {
    const version = this.#snapshot.version;
    let end: number;
    try {
      end = await this.#log.endOffset(TOGGLE_TOPIC, 0);
    } catch (err) {
      // No change was ever made in this environment: nothing to read yet.
      if (err instanceof SlipwayError && err.code === 'SLIPWAY_TOPIC_NOT_FOUND') return;
      throw err;
    }
    if (end <= version) return;
    const changes = await readToggleHistory(this.#log, version);
    this.#snapshot = applyChanges(this.#snapshot, changes, end);
  }
}

/** A toggle source the caller sets directly (the test harness; a program that owns its toggles). */
export class StaticToggleSource implements ToggleSource {
  #snapshot: ToggleSnapshot = EMPTY_SNAPSHOT;

  current(): ToggleSnapshot {
    return this.#snapshot;
  }

  async refresh(): Promise<void> {}

  /** Sets (or with null clears) a toggle's setting: a new version. */
  set(toggle: string, setting: ToggleSetting | null, by = 'test'): ToggleChangeEntry {
    const entry: ToggleChangeEntry = {
      toggle,
      setting: setting === null ? null : checkToggleSetting(setting),
      by,
      at: new Date().toISOString(),
      version: this.#snapshot.version + 1,
    };
    this.#snapshot = applyChanges(this.#snapshot, [entry]);
    return entry;
  }
}
