import type { EventEmitter } from 'node:events';
import type { ErrorJSON } from '../errors.js';
import type { RunnerExit, RunnerHandle } from '../supervisor/supervisor.js';
import type { ControlStore, PipelineEventKind } from './control-store.js';
import type { ArtifactRef } from './deployment.js';

/** A pipeline's live runner, what it runs, and how it is doing. */
export interface LiveRunner {
  pipeline: string;
  runner: RunnerHandle;
  artifact: ArtifactRef;
  config: unknown;
  /** Set while the live runner is fenced by another writer (and not yet taken back). */
  fencedAt?: number;
  /** The last time it was taken back from another writer. */
  recoveredAt?: number;
}

/** How often a live runner fenced by another writer is taken back before the control plane gives up and alerts. */
const MAX_RECOVERIES = 3;
const RECOVERY_WINDOW_MS = 5 * 60_000;

/**
 * The live runner of each pipeline, kept running: a runner that crashes is restarted from its
 * committed offsets, one fenced by another writer (a `slipway run --force` on the same log) is taken
 * back and the takeover recorded — unless it keeps happening, then it stays fenced and says so —,
 * and every runner's heartbeat is recorded in the control store. A deployment that owns a pipeline
 * (`owned`) is left to handle its runners itself.
 */
export class LiveRunners {
  readonly #map = new Map<string, LiveRunner>();
  readonly #recoveries = new Map<string, number[]>();
  readonly #store: ControlStore;
  readonly #environment: string;
  readonly #events: EventEmitter;
  readonly #owned: (pipeline: string) => boolean;
  readonly #closing: () => boolean;
  readonly #restart: (live: LiveRunner) => Promise<RunnerHandle>;
  readonly #epochOf: (owner: string) => Promise<number>;

  constructor(options: {
    store: ControlStore;
    environment: string;
    events: EventEmitter;
    owned(pipeline: string): boolean;
    closing(): boolean;
    /** Starts and activates a new runner of the same version (same config and count). */
    restart(live: LiveRunner): Promise<RunnerHandle>;
    /** An owner's current epoch on the log: a live runner behind it was fenced by another writer. */
    epochOf(owner: string): Promise<number>;
  }) {
    this.#store = options.store;
    this.#environment = options.environment;
    this.#events = options.events;
    this.#owned = options.owned;
    this.#closing = options.closing;
    this.#restart = options.restart;
    this.#epochOf = options.epochOf;
  }

  get(pipeline: string): LiveRunner | undefined {
    return this.#map.get(pipeline);
  }

  all(): LiveRunner[] {
    return [...this.#map.values()];
  }

  /** Makes `runner` the live runner of its pipeline and watches it. */
  set(pipeline: string, runner: RunnerHandle, artifact: ArtifactRef, config: unknown): void {
    const previous = this.#map.get(pipeline);
    if (previous?.runner === runner) {
      previous.artifact = artifact;
      previous.config = config;
      return;
    }
    const live: LiveRunner = { pipeline, runner, artifact, config };
    this.#map.set(pipeline, live);
    this.#watch(live);
  }

  /** Forgets the live runner of a pipeline (undeployed): it is no longer watched nor restarted. */
  remove(pipeline: string): LiveRunner | undefined {
    const live = this.#map.get(pipeline);
    this.#map.delete(pipeline);
    return live;
  }

  #isLive(live: LiveRunner): boolean {
    return this.#map.get(live.pipeline)?.runner === live.runner;
  }

  async #note(live: LiveRunner, kind: PipelineEventKind, message: string, data: Record<string, unknown> = {}) {
    const event = await this.#store
      .appendPipelineEvent({
        pipeline: live.pipeline,
        environment: this.#environment,
        kind,
        runner: live.runner.spec.id,
        message,
        data,
      })
      .catch((err: unknown) => {
        this.#events.emit('error-event', err);
        return undefined;
      });
    if (event !== undefined) this.#events.emit('pipeline-event', event);
  }

  #watch(live: LiveRunner): void {
    const { runner } = live;
    runner.on('exit', (exit: RunnerExit) => {
      if (exit.expected || !this.#isLive(live)) return;
      const why = exit.error === undefined ? (exit.signal ?? `code ${exit.code}`) : describe(exit.error);
      void this.#note(live, 'runner-exited', `live runner ${runner.spec.id} exited (${why})`, { ...exit });
      this.#events.emit('runner-exit', runner.spec.id, exit);
      this.restartIfDead(live.pipeline);
    });
    // A group replaces its own members; each restart is recorded all the same.
    runner.on('member-restarted', (id: string) => {
      if (this.#isLive(live))
        void this.#note(live, 'runner-restarted', `runner ${id} restarted from its committed offsets`);
      this.#events.emit('runner-restarted', id);
    });
    runner.on('member-exit', (id: string, exit: RunnerExit) => {
      if (!this.#isLive(live)) return;
      const why = exit.error === undefined ? (exit.signal ?? `code ${exit.code}`) : describe(exit.error);
      void this.#note(live, 'runner-exited', `runner ${id} exited (${why})`, { ...exit });
    });
    runner.on('state', (state: string) => {
      if (state === 'fenced' && this.#isLive(live) && !this.#owned(live.pipeline) && !this.#closing())
        void this.#onFenced(live);
    });
  }

  /** The live runner was fenced by a writer that is not this control plane's: take it back, or give up and alert. */
  async #onFenced(live: LiveRunner): Promise<void> {
    live.fencedAt = Date.now();
    const now = Date.now();
    const recent = (this.#recoveries.get(live.pipeline) ?? []).filter((t) => now - t < RECOVERY_WINDOW_MS);
    if (recent.length >= MAX_RECOVERIES) {
      await this.#note(
        live,
        'runner-fenced',
        `live runner ${live.runner.spec.id} was fenced by another writer ${recent.length + 1} times in ${RECOVERY_WINDOW_MS / 60_000} minutes; it stays stopped. Stop the other writer (a \`slipway run\` of ${live.pipeline} on the same log?), then redeploy or restart the control plane.`,
        { gaveUp: true },
      );
      this.#events.emit('alert', { pipeline: live.pipeline, kind: 'runner-fenced' });
      return;
    }
    recent.push(now);
    this.#recoveries.set(live.pipeline, recent);
    await this.#note(
      live,
      'runner-fenced',
      `live runner ${live.runner.spec.id} was fenced by another writer on the log; taking the pipeline back from the committed offsets`,
    );
    try {
      // Activating again fences the other writer and resumes from the committed offsets and state
      // (an idle runner that has not tried to commit since does not know yet: it pauses first).
      if (live.runner.state === 'running') await live.runner.pause().catch(() => undefined);
      await live.runner.activate();
      live.fencedAt = undefined;
      live.recoveredAt = Date.now();
      await this.#note(live, 'runner-recovered', `live runner ${live.runner.spec.id} runs again`);
    } catch (err) {
      this.#events.emit('error-event', err);
    }
  }

  /** Restarts the live runner of `pipeline` if it is dead and no deployment owns the pipeline. */
  restartIfDead(pipeline: string): void {
    const live = this.#map.get(pipeline);
    if (live === undefined || this.#closing() || this.#owned(pipeline) || live.runner.state !== 'exited') return;
    void (async () => {
      try {
        const next = await this.#restart(live);
        if (!this.#isLive(live)) {
          await next.stop();
          return;
        }
        this.set(pipeline, next, live.artifact, live.config);
        const fresh = this.#map.get(pipeline) as LiveRunner;
        await this.#note(
          fresh,
          'runner-restarted',
          `live runner restarted as ${next.spec.id} from the committed offsets`,
        );
        this.#events.emit('runner-restarted', next.spec.id);
      } catch (err) {
        this.#events.emit('error-event', err);
      }
    })();
  }

  /**
   * Records every live runner's heartbeat (its state and figures) in the control store, and notices a
   * live runner whose owner another writer fenced while it was idle (it finds out only at its next
   * commit otherwise): the log's epoch of its owner is past the one it writes under.
   */
  async heartbeat(): Promise<void> {
    for (const live of this.#map.values()) {
      const stats = await live.runner.stats().catch(() => null);
      if (
        stats !== null &&
        live.runner.size === 1 &&
        live.fencedAt === undefined &&
        !this.#owned(live.pipeline) &&
        !this.#closing() &&
        stats.epoch > 0
      ) {
        const owner = live.runner.owners[0] ?? `slipway.${live.pipeline}`;
        const epoch = await this.#epochOf(owner).catch(() => stats.epoch);
        if (epoch > stats.epoch && this.#isLive(live)) await this.#onFenced(live);
      }
      await this.#store
        .recordRunner({
          id: live.runner.spec.id,
          pipeline: live.pipeline,
          environment: this.#environment,
          role: 'live',
          digest: live.artifact.digest,
          pid: live.runner.pid ?? null,
          state: live.runner.state,
          stats,
        })
        .catch((err: unknown) => this.#events.emit('error-event', err));
    }
  }
}

function describe(error: ErrorJSON): string {
  return `${error.code === undefined ? '' : `${error.code}: `}${error.message}`;
}
