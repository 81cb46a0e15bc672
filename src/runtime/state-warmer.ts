import type { Log } from '../log/log.js';

type ChangelogLog = Log & Required<Pick<Log, 'readStateChanges'>>;

/** A partition set's state (entries per partition) and the changelog position it is exact up to, per partition. */
export interface WarmState {
  state: Map<number, Array<[string, string]>>;
  next: Map<number, number>;
}

/** How often a warm standby looks for new state writes by default. */
export const STATE_WARM_INTERVAL_MS = 200;

/**
 * A warm standby's copy of the committed state of its partitions, kept current from the changelog while the runner
 * is not running (standby, paused), so that activation reads only the writes since its last look instead of the
 * whole changelog — the read that used to sit inside a Kafka cutover and grew with every deployment.
 *
 * Only for logs with `readStateChanges` (Kafka); on the others `readState` is a cheap query and the runner uses it.
 * The copy is exact at `take()`: it is called after the fence, so nothing older can commit after the last read.
 */
export class StateWarmer {
  readonly #log: ChangelogLog;
  readonly #namespace: string;
  readonly #partitions: number[];
  readonly #intervalMs: number;
  #state = new Map<number, Map<string, string>>();
  #next = new Map<number, number>();
  #work: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #failed = false;
  #generation = 0;
  /** Whether the copy has been read up to the changelog's end at least once since `start`. */
  #caughtUp = false;

  private constructor(log: ChangelogLog, namespace: string, partitions: number[], intervalMs: number) {
    this.#log = log;
    this.#namespace = namespace;
    this.#partitions = partitions;
    this.#intervalMs = intervalMs;
  }

  /** A warmer for the partitions, or undefined when the log has no changelog to follow. */
  static for(log: Log, namespace: string, partitions: number[], intervalMs = STATE_WARM_INTERVAL_MS) {
    if (log.readStateChanges === undefined) return undefined;
    return new StateWarmer(log as ChangelogLog, namespace, partitions, intervalMs);
  }

  /**
   * Starts keeping the copy current: from `seed` when given (the state a runner holds right after a clean pause
   * and the changelog positions just past its last commit), else from the start of the changelog.
   */
  start(seed?: WarmState): void {
    if (this.#running) return;
    this.#reset();
    this.#running = true;
    if (seed !== undefined) {
      for (const [p, entries] of seed.state) this.#state.set(p, new Map(entries));
      this.#next = new Map(seed.next);
      this.#caughtUp = true;
    }
    this.#schedule(seed === undefined ? 0 : this.#intervalMs);
  }

  /** True from `start` until the first read reached the changelog's end (false again when it failed). */
  get warming(): boolean {
    return this.#running && !this.#caughtUp && !this.#failed;
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#running) return;
      this.#work = this.#work
        .then(async () => {
          if (this.#failed) return;
          await this.#readAll();
          this.#caughtUp = true;
        })
        .catch(() => {
          // Warming is an optimisation: activation reads the whole state when it failed.
          this.#failed = true;
        })
        .finally(() => {
          if (this.#running && !this.#failed) this.#schedule(this.#intervalMs);
        });
    }, ms);
    this.#timer.unref?.();
  }

  async #readAll(): Promise<void> {
    const generation = this.#generation;
    await Promise.all(
      this.#partitions.map(async (p) => {
        const { changes, next } = await this.#log.readStateChanges(this.#namespace, p, this.#next.get(p) ?? 0);
        // Stopped (and perhaps started afresh) meanwhile: this read belongs to a copy that is gone.
        if (generation !== this.#generation) return;
        let map = this.#state.get(p);
        if (map === undefined) {
          map = new Map();
          this.#state.set(p, map);
        }
        for (const [key, value] of changes) {
          if (value === null) map.delete(key);
          else map.set(key, value);
        }
        this.#next.set(p, next);
      }),
    );
  }

  /**
   * Stops following and hands over the state as of now (the last delta read): entries per partition, the warmer
   * empty after. Undefined when warming failed or never started: the caller reads the state itself then.
   */
  async take(): Promise<WarmState | undefined> {
    const wasRunning = this.#running;
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#work;
    if (!wasRunning || this.#failed) {
      this.#reset();
      return undefined;
    }
    try {
      await this.#readAll();
    } catch {
      this.#reset();
      return undefined;
    }
    const state = new Map<number, Array<[string, string]>>();
    for (const p of this.#partitions) state.set(p, [...(this.#state.get(p) ?? [])]);
    const out = { state, next: this.#next };
    this.#reset();
    return out;
  }

  /** Stops following and drops the copy. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#reset();
  }

  #reset(): void {
    this.#generation++;
    this.#state = new Map();
    this.#next = new Map();
    this.#failed = false;
    this.#caughtUp = false;
  }
}

/**
 * A warmer's seed from the state a runner holds after a clean pause: `snapshot(p)` per partition, exact up to the
 * changelog positions `at` of its own last writes. Undefined (a full read then) when a partition's position is unknown.
 */
export function seedOf(
  partitions: number[],
  snapshot: (partition: number) => Record<string, unknown>,
  at: ReadonlyMap<number, number> | undefined,
): WarmState | undefined {
  if (at === undefined || partitions.some((p) => !at.has(p))) return undefined;
  const state = new Map<number, Array<[string, string]>>();
  for (const p of partitions) {
    state.set(
      p,
      Object.entries(snapshot(p)).map(([k, v]) => [k, JSON.stringify(v)]),
    );
  }
  return { state, next: new Map(at) };
}
