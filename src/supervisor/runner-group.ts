import { EventEmitter } from 'node:events';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import { type ErrorJSON, errorToJSON, SlipwayError } from '../errors.js';
import type { PartitionOffset, TopicPartition } from '../log/log.js';
import { addReplayResults, emptyReplayResult } from '../runtime/dead-letter-replay.js';
import type { ActivateOptions, ReplayRequest, ReplayResult, StateMigrationResult } from '../runtime/runner.js';
import { mergeRunnerStats } from '../runtime/runner-stats.js';
import type {
  HandleState,
  RunnerExit,
  RunnerHandle,
  RunnerSpec,
  RunnerStats,
  RunnerSupervisor,
  SampleInput,
  SampleOutput,
} from './supervisor.js';

/** Input partitions dealt round-robin over `count` runners: partition p goes to runner p mod count. */
export function assignPartitions(partitions: readonly TopicPartition[], count: number): TopicPartition[][] {
  const shares: TopicPartition[][] = Array.from({ length: count }, () => []);
  for (const [i, tp] of partitions.entries()) shares[i % count]?.push(tp);
  return shares;
}

/**
 * `partitions` dealt over `count` runners (see assignPartitions), refused with a clear error when
 * there are more runners than partitions: a runner with none would have nothing to do.
 */
export function shareOut(pipeline: string, partitions: readonly TopicPartition[], count: number): TopicPartition[][] {
  if (count > partitions.length) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `${pipeline} has ${partitions.length} input partitions: it can run as at most ${partitions.length} runners, not ${count}.`,
      { details: { runners: count, partitions: partitions.length } },
    );
  }
  return assignPartitions(partitions, count);
}

/** Owner of runner `index` of a group of `count`: its own transactional id on Kafka, its own epoch. */
export const memberOwner = (owner: string, index: number, count: number): string =>
  count === 1 ? owner : `${owner}.r${index + 1}of${count}`;

/**
 * Every owner the runners of a pipeline may have written under, given the owner of a single runner:
 * that owner, and each member of a group of 2 up to `partitions` runners (a group has at most one
 * runner per input partition). Taking over a pipeline fences those that have an epoch.
 */
export function possibleOwners(owner: string, partitions: number): string[] {
  const owners = [owner];
  for (let count = 2; count <= partitions; count++)
    for (let i = 0; i < count; i++) owners.push(memberOwner(owner, i, count));
  return owners;
}

const STATE_ORDER: readonly HandleState[] = [
  'exited',
  'failed',
  'fenced',
  'created',
  'starting',
  'pausing',
  'standby',
  'paused',
  'stopped',
  'running',
];

export interface RunnerGroupOptions {
  /** Whether a member that died may be replaced now (the controller says no during a handoff). Default: yes. */
  mayRestart?: () => boolean;
  /** A member that dies more often than this within `restartWindowMs` is not replaced again (default 3). */
  maxRestarts?: number;
  restartWindowMs?: number;
}

/** Why a group gave up on a member: how often it died, and its last error. */
export interface MemberGaveUp {
  member: string;
  restarts: number;
  exit: RunnerExit;
  error?: ErrorJSON;
}

/**
 * One pipeline version as several runners, each owning a share of the input partitions (assigned
 * here, not by consumer-group rebalancing, so a handoff stays exact) under an owner of its own, all
 * started through one supervisor. It is driven like one runner: `pause` pauses every member and
 * returns all their offsets, `activate` activates each from the offsets of its partitions.
 *
 * A member that dies (or fails) while the group runs is replaced — same partitions, same owner: the
 * new one fences the dead one and resumes from its committed offsets — when `mayRestart()` says so.
 * A member that keeps dying (`maxRestarts` within `restartWindowMs`) is given up on: the group emits
 * `gave-up` (MemberGaveUp, with the member's last error) and reports `exited`. Events: `commit`, `dlq`,
 * `member-exit` (id, RunnerExit), `member-failed` (id, ErrorJSON), `member-restarted` (id), `gave-up`, `error-event`.
 */
export class RunnerGroup extends EventEmitter implements RunnerHandle {
  readonly spec: RunnerSpec;
  readonly owners: string[];
  readonly #specs: RunnerSpec[];
  readonly #supervisor: RunnerSupervisor;
  readonly #mayRestart: () => boolean;
  readonly #maxRestarts: number;
  readonly #windowMs: number;
  #members: RunnerHandle[] = [];
  readonly #replacing = new Set<number>();
  readonly #restarts = new Map<number, number[]>();
  readonly #failures = new Map<number, ErrorJSON>();
  #gaveUp: MemberGaveUp | undefined;
  #activated = false;
  #stopping = false;
  lastCommitAt = 0;

  /**
   * @param spec the version's runner spec; `owner` is required (members own `<owner>.r<i>of<n>`).
   * @param assignments each member's partitions.
   */
  constructor(
    supervisor: RunnerSupervisor,
    spec: RunnerSpec & { owner: string },
    assignments: TopicPartition[][],
    options: RunnerGroupOptions = {},
  ) {
    super();
    if (assignments.length < 1 || assignments.some((a) => a.length === 0)) {
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `Cannot run ${spec.pipeline} as ${assignments.length} runners: each runner needs at least one input partition.`,
      );
    }
    this.spec = spec;
    const n = assignments.length;
    this.#specs = assignments.map((assignment, i) => ({
      ...spec,
      id: `${spec.id}#${i + 1}`,
      owner: memberOwner(spec.owner, i, n),
      assignment,
    }));
    this.owners = this.#specs.map((s) => s.owner as string);
    this.#supervisor = supervisor;
    this.#mayRestart = options.mayRestart ?? (() => true);
    this.#maxRestarts = options.maxRestarts ?? 3;
    this.#windowMs = options.restartWindowMs ?? 60_000;
  }

  get size(): number {
    return this.#specs.length;
  }

  get members(): readonly RunnerHandle[] {
    return this.#members;
  }

  get pid(): number | undefined {
    return this.#members[0]?.pid;
  }

  /** Set once the group gave up on a member that kept dying. */
  get gaveUp(): MemberGaveUp | undefined {
    return this.#gaveUp;
  }

  /** The least healthy member's state (a member being replaced counts as `starting`). */
  get state(): HandleState {
    if (this.#members.length === 0) return 'created';
    let worst: HandleState = 'running';
    for (const [i, m] of this.#members.entries()) {
      const s: HandleState = this.#replacing.has(i) ? 'starting' : m.state;
      if (STATE_ORDER.indexOf(s) < STATE_ORDER.indexOf(worst)) worst = s;
    }
    return worst;
  }

  #watch(index: number, runner: RunnerHandle): void {
    runner.on('commit', (msg: { committedAt: number }) => {
      this.lastCommitAt = Math.max(this.lastCommitAt, msg.committedAt);
      this.emit('commit', msg);
    });
    runner.on('dlq', (msg) => this.emit('dlq', msg));
    runner.on('failed', (error: ErrorJSON) => {
      this.#failures.set(index, error);
      if (!this.#stopping) this.emit('member-failed', runner.spec.id, error);
      // A member that fails stops processing without exiting: it is replaced like one that died.
      if (this.#activated && !this.#stopping)
        void this.#replace(index, runner, { code: null, signal: null, expected: false, error });
    });
    runner.on('exit', (exit: RunnerExit) => {
      if (exit.expected || this.#stopping) return;
      this.emit('member-exit', runner.spec.id, exit);
      if (this.#activated) void this.#replace(index, runner, exit);
    });
  }

  async #replace(index: number, dead: RunnerHandle, exit: RunnerExit): Promise<void> {
    if (this.#replacing.has(index) || this.#members[index] !== dead || !this.#mayRestart()) return;
    const now = Date.now();
    const recent = (this.#restarts.get(index) ?? []).filter((t) => now - t < this.#windowMs);
    if (recent.length >= this.#maxRestarts) {
      const error = exit.error ?? this.#failures.get(index);
      this.#gaveUp = { member: dead.spec.id, restarts: recent.length, exit, ...(error === undefined ? {} : { error }) };
      await dead.stop().catch(() => {});
      this.emit('gave-up', this.#gaveUp);
      return;
    }
    recent.push(now);
    this.#restarts.set(index, recent);
    this.#replacing.add(index);
    let retry: ErrorJSON | undefined;
    try {
      await dead.stop().catch(() => {});
      const next = await this.#supervisor.start(this.#specs[index] as RunnerSpec);
      if (this.#stopping || this.#members[index] !== dead) {
        await next.stop();
        return;
      }
      this.#members[index] = next;
      this.#watch(index, next);
      await next.activate();
      this.#failures.delete(index);
      this.emit('member-restarted', next.spec.id);
    } catch (err) {
      this.emit('error-event', err);
      retry = errorToJSON(err);
    } finally {
      this.#replacing.delete(index);
    }
    // The replacement did not start: try again (counted as a restart), unless it keeps failing.
    const current = this.#members[index];
    if (retry !== undefined && current !== undefined && !this.#stopping)
      await this.#replace(index, current, { code: null, signal: null, expected: false, error: retry });
  }

  /** Starts every member (in standby). */
  async start(): Promise<void> {
    const started = await Promise.allSettled(this.#specs.map((s) => this.#supervisor.start(s)));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.allSettled(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
      throw (failed as PromiseRejectedResult).reason;
    }
    this.#members = started.map((r) => (r as PromiseFulfilledResult<RunnerHandle>).value);
    for (const [i, m] of this.#members.entries()) this.#watch(i, m);
  }

  async activate(options: ActivateOptions = {}): Promise<void> {
    if (options.owner !== undefined || options.group !== undefined) {
      throw new SlipwayError(
        'SLIPWAY_DEPLOY_REFUSED',
        `${this.spec.pipeline} runs as ${this.size} runners: a canary cannot hand it the live owner. Scale it to 1 runner first (slipway scale), or deploy with blue-green.`,
      );
    }
    // Each member fences its own owner: an epoch a caller fenced belongs to another owner.
    const { epoch: _epoch, ...rest } = options;
    await Promise.all(this.#members.map((m) => m.activate(rest)));
    this.#activated = true;
  }

  async pause(): Promise<PartitionOffset[]> {
    this.#activated = false;
    return (await Promise.all(this.#members.map((m) => m.pause()))).flat();
  }

  async runUntil(offsets: PartitionOffset[]): Promise<PartitionOffset[]> {
    return (await Promise.all(this.#members.map((m) => m.runUntil(offsets)))).flat();
  }

  /** The members' figures as one runner's: counters summed, latency histograms merged. */
  async stats(): Promise<RunnerStats> {
    const all = await Promise.all(this.#members.map((m) => m.stats()));
    const state = this.state;
    return mergeRunnerStats(all, state === 'exited' ? 'failed' : state === 'created' ? 'starting' : state);
  }

  /** Every member's metrics as JSON, aggregated: counters and histograms summed, lag per partition. */
  async metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    return (await this.registry()).getMetricsAsJSON();
  }

  /** The members' Prometheus metrics in one registry (each partition's lag comes from its one member). */
  async registry(): Promise<Registry> {
    return AggregatorRegistry.aggregate(await Promise.all(this.#members.map((m) => m.metrics())));
  }

  sample(inputs: SampleInput[]): Promise<SampleOutput[]> {
    const first = this.#members[0];
    if (first === undefined)
      return Promise.reject(new SlipwayError('SLIPWAY_INVALID_STATE', 'The group has not started.'));
    return first.sample(inputs);
  }

  /** Each member replays the dead letters of its own partitions, under its own owner (its own epoch). */
  async replayDeadLetters(request: ReplayRequest): Promise<ReplayResult> {
    // An epoch a caller fenced belongs to one owner: each member fences its own when in standby.
    const { epoch: _epoch, ...rest } = request;
    const results = await Promise.all(this.#members.map((m) => m.replayDeadLetters(rest)));
    return results.reduce(addReplayResults, emptyReplayResult());
  }

  /** Each member migrates the state of its own partitions, under its own owner (its own epoch). */
  async migrateState(version: number): Promise<StateMigrationResult> {
    const results = await Promise.all(this.#members.map((m) => m.migrateState(version)));
    const [first] = results as [StateMigrationResult];
    return {
      from: first.from,
      to: first.to,
      partitions: results.reduce((n, r) => n + r.partitions, 0),
      keys: results.reduce((n, r) => n + r.keys, 0),
    };
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#members.map((m) => m.stop()));
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    for (const m of this.#members) m.kill(signal);
  }
}
