/**
 * A runner's dead-letter replays (what `Runner.replayDeadLetters` runs; the replay itself is dead-letter-replay.ts):
 * the replay port built from the parts the runner lends its loop — its log, who it commits as, its partitions, the
 * batch core and keyed state — with its pipeline and dead-letter topics. Refused on a shadow runner; while a replay
 * runs, the runner takes no other command.
 */
import { SlipwayError } from '../errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { type ReplayRequest, type ReplayResult, replayThrough } from './dead-letter-replay.js';
import { commitWithRetry, type LoopHost } from './runner-loop.js';
import type { RunnerMode, RunnerState } from './runner-types.js';

/** What a runner lends its replays: the parts its loop has, its pipeline and mode, its dead-letter topics. */
export interface ReplayHost
  extends Pick<
    LoopHost,
    'log' | 'store' | 'core' | 'toggles' | 'stateNamespace' | 'slots' | 'owner' | 'epoch' | 'config'
  > {
  readonly pipeline: Pipeline;
  readonly mode: RunnerMode;
  /** Dead-letter topic by input topic (a shadow's own names). */
  readonly dlqTopics: ReadonlyMap<string, string>;
  /** The artifact the runner runs, written in each replay marker when known. */
  readonly artifact: string | undefined;
}

export class RunnerReplay {
  readonly #host: ReplayHost;
  #active = false;

  constructor(host: ReplayHost) {
    this.#host = host;
  }

  /** Refuses a runner command while a replay runs (the runner is neither paused nor in standby for it meanwhile). */
  refuseWhileActive(command: string, state: RunnerState): void {
    if (!this.#active) return;
    throw new SlipwayError(
      'SLIPWAY_INVALID_STATE',
      `Cannot ${command} runner of '${this.#host.pipeline.name}' while it replays dead letters: wait for the replay to end.`,
      { details: { state, command } },
    );
  }

  /**
   * Replays dead letters through the runner's batch core after `prepare` (the runner's own: fencing or taking the
   * epoch when in standby), under the owner and epoch it then holds. The caller checked the runner's state.
   */
  async run(request: ReplayRequest, prepare: () => Promise<void>): Promise<ReplayResult> {
    const host = this.#host;
    if (host.mode === 'shadow') {
      throw new SlipwayError(
        'SLIPWAY_INVALID_STATE',
        `A shadow runner of '${host.pipeline.name}' cannot replay dead letters: its outputs are not the live ones.`,
      );
    }
    this.#active = true;
    try {
      await prepare();
      return await replayThrough(
        {
          log: host.log,
          owner: host.owner(),
          epoch: host.epoch(),
          stateNamespace: host.stateNamespace,
          version: host.pipeline.version,
          ...(host.artifact === undefined ? {} : { artifact: host.artifact }),
          inputs: host.pipeline.inputs,
          partitions: host.slots(),
          dlqTopic: (input) => host.dlqTopics.get(input) as string,
          process: (records) => host.core.process(records, host.config(), undefined, host.toggles?.current()),
          pendingWrites: () => host.store.pendingWrites(),
          applyBatch: () => host.store.applyBatch(),
          discardBatch: () => host.store.discardBatch(),
          commit: async (batch) => {
            await commitWithRetry(host.log, batch);
          },
        },
        request,
      );
    } finally {
      this.#active = false;
    }
  }
}
