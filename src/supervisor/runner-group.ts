import { EventEmitter } from 'node:events';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { SlipwayError } from '../errors.js';
import type { PartitionOffset, TopicPartition } from '../log/log.js';
import type { ActivateOptions, RunnerState } from '../runtime/runner.js';
import type { RunnerSpec, RunnerStats } from './protocol.js';
import type { RunnerProcess } from './runner-process.js';

/** What the controller and the strategies drive: one runner process, or a group of them. */
export interface RunnerHandle extends EventEmitter {
  readonly spec: RunnerSpec;
  readonly state: RunnerState | 'exited';
  readonly pid: number | undefined;
  /** How many runner processes. */
  readonly size: number;
  /** The owners it writes under: a handoff away from it fences every one. */
  readonly owners: string[];
  lastCommitAt: number;
  start(): Promise<void>;
  activate(options?: ActivateOptions): Promise<void>;
  pause(): Promise<PartitionOffset[]>;
  runUntil(offsets: PartitionOffset[], epoch?: number): Promise<PartitionOffset[]>;
  stats(): Promise<RunnerStats>;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

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

const STATE_ORDER: ReadonlyArray<RunnerState | 'exited'> = [
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

/**
 * One pipeline version as several runner processes, each owning a share of the input partitions
 * (assigned here, not by consumer-group rebalancing, so a handoff stays exact) under an owner of its
 * own. It is driven like one runner: `pause` pauses every member and returns all their offsets,
 * `activate` activates each from the offsets of its partitions. A member that dies while the group
 * runs is replaced (same partitions, same owner: it fences the dead one and resumes from its
 * committed offsets) when `mayRestart()` says so; otherwise the group reports `exited`.
 */
export class RunnerGroup extends EventEmitter implements RunnerHandle {
  readonly spec: RunnerSpec;
  readonly owners: string[];
  readonly #specs: RunnerSpec[];
  readonly #spawn: (spec: RunnerSpec) => RunnerProcess;
  readonly #mayRestart: () => boolean;
  #members: RunnerProcess[] = [];
  #activated = false;
  #stopping = false;
  lastCommitAt = 0;

  /**
   * @param spec the version's runner spec; `owner` is required (members own `<owner>.r<i>of<n>`).
   * @param assignments each member's partitions.
   * @param spawn makes a member's RunnerProcess (the controller wires its events and supervision).
   */
  constructor(
    spec: RunnerSpec & { owner: string },
    assignments: TopicPartition[][],
    spawn: (spec: RunnerSpec) => RunnerProcess,
    options: { mayRestart?: () => boolean } = {},
  ) {
    super();
    if (assignments.length < 1 || assignments.some((a) => a.length === 0)) {
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `Cannot run ${spec.pipeline ?? spec.id} as ${assignments.length} runners: each runner needs at least one input partition.`,
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
    this.#spawn = spawn;
    this.#mayRestart = options.mayRestart ?? (() => true);
  }

  get size(): number {
    return this.#specs.length;
  }

  get members(): readonly RunnerProcess[] {
    return this.#members;
  }

  get pid(): number | undefined {
    return this.#members[0]?.pid;
  }

  /** The least healthy member's state: a group is only as running as its weakest member. */
  get state(): RunnerState | 'exited' {
    if (this.#members.length === 0) return 'created';
    let worst: RunnerState | 'exited' = 'running';
    for (const m of this.#members) if (STATE_ORDER.indexOf(m.state) < STATE_ORDER.indexOf(worst)) worst = m.state;
    return worst;
  }

  #member(index: number): RunnerProcess {
    const runner = this.#spawn(this.#specs[index] as RunnerSpec);
    runner.on('commit', (msg: { committedAt: number }) => {
      this.lastCommitAt = Math.max(this.lastCommitAt, msg.committedAt);
      this.emit('commit', msg);
    });
    runner.on('dlq', (msg) => this.emit('dlq', msg));
    runner.on('exit', (code: number | null, signal: string | null, expected: boolean) => {
      if (expected || this.#stopping) return;
      if (this.#activated && this.#mayRestart()) void this.#replace(index, runner);
      else this.emit('member-exit', runner.spec.id, code, signal);
    });
    return runner;
  }

  async #replace(index: number, dead: RunnerProcess): Promise<void> {
    try {
      const next = this.#member(index);
      await next.start();
      if (this.#stopping || this.#members[index] !== dead) {
        await next.stop();
        return;
      }
      this.#members[index] = next;
      await next.activate();
      this.emit('member-restarted', next.spec.id);
    } catch (err) {
      this.emit('error-event', err);
    }
  }

  async start(): Promise<void> {
    this.#members = this.#specs.map((_, i) => this.#member(i));
    await Promise.all(this.#members.map((m) => m.start()));
  }

  async activate(options: ActivateOptions = {}): Promise<void> {
    if (options.owner !== undefined || options.group !== undefined) {
      throw new SlipwayError(
        'SLIPWAY_DEPLOY_REFUSED',
        `${this.spec.pipeline ?? this.spec.id} runs as ${this.size} runners: a canary cannot hand it the live owner. Scale it to 1 runner first (slipway scale), or deploy with blue-green.`,
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

  async stats(): Promise<RunnerStats> {
    const all = await Promise.all(this.#members.map((m) => m.stats()));
    const sum = (f: (s: RunnerStats) => number): number => all.reduce((n, s) => n + f(s), 0);
    return {
      state: this.state === 'exited' ? 'failed' : this.state,
      epoch: Math.max(...all.map((s) => s.epoch)),
      inputs: sum((s) => s.inputs),
      processed: sum((s) => s.processed),
      outputs: sum((s) => s.outputs),
      dlq: sum((s) => s.dlq),
      commits: sum((s) => s.commits),
      lastCommitAt: Math.max(...all.map((s) => s.lastCommitAt)),
      p99LatencyMs: Math.max(...all.map((s) => s.p99LatencyMs)),
      lag: sum((s) => s.lag),
      offsets: all.flatMap((s) => s.offsets),
    };
  }

  /**
   * The members' Prometheus metrics in one registry: counters and histograms summed over the
   * members, the lag gauge per partition (each partition has one member).
   */
  async metrics(): Promise<Registry> {
    return AggregatorRegistry.aggregate(await Promise.all(this.#members.map((m) => m.metrics())));
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#members.map((m) => m.stop()));
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    for (const m of this.#members) m.kill(signal);
  }
}
