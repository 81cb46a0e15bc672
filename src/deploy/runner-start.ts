import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { PipelineDescription } from '../artifact/manifest.js';
import type { LogConfig } from '../log/open-log.js';
import type { SecretReference } from '../pipeline/secrets.js';
import { inputPartitions } from '../runtime/runner-setup.js';
import { RunnerGroup, shareOut } from '../supervisor/runner-group.js';
import type { RunnerHandle, RunnerSpec, RunnerSupervisor, SinkDatastoreRef } from '../supervisor/supervisor.js';
import type { ArtifactRef, Release } from './deployment.js';
import type { LiveRunner, LiveRunners } from './live-runners.js';
import { colourOf, type SupervisedRunner } from './runner-colour.js';

export interface RunnerStartOptions {
  supervisor: RunnerSupervisor;
  /** The environment's log; every runner gets the same. */
  log: LogConfig;
  live: LiveRunners;
  /** Where a runner group's errors are reported (`error-event`). */
  events: EventEmitter;
  secretsOf: (pipeline: string) => Record<string, SecretReference> | undefined;
  /** The datastore a sink pipeline's table is in (refused when the environment does not declare it). */
  datastoreOf: (pipeline: string, datastore: string) => SinkDatastoreRef;
  manifestOf: (artifact: ArtifactRef) => Promise<PipelineDescription>;
  /** Whether a group may restart a dead member of `pipeline` itself (not while closing or in a handoff). */
  mayRestart: (pipeline: string) => boolean;
  /** When the deployment running for a pipeline began, if one runs (for the runners' colours). */
  deployingSince: (pipeline: string) => number | undefined;
  /** Tells whoever reads the log that this control plane runs `pipeline` as `artifact`. */
  mark: (pipeline: string, artifact: ArtifactRef, deploymentId: string | null) => Promise<void>;
}

/**
 * How a controller starts runners: one through its supervisor, or a group sharing the input
 * partitions; the live runner of a release; a dead live runner again. It remembers every runner it
 * started, with the role it was started in, for `supervised()`.
 */
export class RunnerStarter {
  readonly #o: RunnerStartOptions;
  /** Every runner started, with the role it was started in and when; pruned when read. */
  readonly #started = new Map<RunnerHandle, { role: string; artifact: ArtifactRef; at: number }>();

  constructor(options: RunnerStartOptions) {
    this.#o = options;
  }

  /** Starts the live runner of a release, makes it live and marks the log. */
  async startLive(release: Release): Promise<void> {
    const runner = await this.spawn(release.artifact, 'live', release.config, {}, release.runners);
    await runner.activate();
    this.#o.live.set(release.pipeline, runner, release.artifact, release.config);
    await this.#o.mark(release.pipeline, release.artifact, release.deploymentId);
  }

  /** Starts a dead live runner again (a group with a dead member stops whole, then starts again). */
  async restartLive(live: LiveRunner): Promise<RunnerHandle> {
    if (live.runner.size > 1) await live.runner.stop();
    const next = await this.spawn(live.artifact, 'live', live.config, {}, live.runner.size);
    await next.activate();
    return next;
  }

  /** Starts a version in standby through the supervisor: one runner, or `count` sharing the input partitions. */
  async spawn(
    artifact: ArtifactRef,
    role: string,
    config: unknown,
    extra: Partial<RunnerSpec>,
    count = 1,
  ): Promise<RunnerHandle> {
    const secrets = this.#o.secretsOf(artifact.pipeline);
    const sink = (await this.#o.manifestOf(artifact)).sink;
    const datastore = sink === undefined ? undefined : this.#o.datastoreOf(artifact.pipeline, sink.datastore);
    const spec: RunnerSpec = {
      id: `${artifact.pipeline}@${artifact.version}:${role}:${randomUUID().slice(0, 6)}`,
      digest: artifact.digest,
      pipeline: artifact.pipeline,
      log: this.#o.log,
      config,
      ...(secrets === undefined || Object.keys(secrets).length === 0 ? {} : { secrets }),
      ...(datastore === undefined ? {} : { datastore }),
      ...extra,
    };
    if (count === 1) return this.#track(await this.#o.supervisor.start(spec), role, artifact);
    const manifest = await this.#o.manifestOf(artifact);
    const group = new RunnerGroup(
      this.#o.supervisor,
      { ...spec, owner: spec.owner ?? `slipway.${artifact.pipeline}` },
      shareOut(artifact.pipeline, inputPartitions(manifest), count),
      { mayRestart: () => this.#o.mayRestart(artifact.pipeline) },
    );
    group.on('error-event', (err: unknown) => this.#o.events.emit('error-event', err));
    await group.start();
    return this.#track(group, role, artifact);
  }

  #track(runner: RunnerHandle, role: string, artifact: ArtifactRef): RunnerHandle {
    this.#pruneExited();
    this.#started.set(runner, { role, artifact, at: Date.now() });
    return runner;
  }

  /** Forgets runners that exited, except a live one (it shows until it is replaced). */
  #pruneExited(): void {
    for (const [runner] of this.#started)
      if (runner.state === 'exited' && this.#o.live.get(runner.spec.pipeline)?.runner !== runner)
        this.#started.delete(runner);
  }

  /**
   * Every runner supervised — started and not exited, and every live runner (even a dead one, until
   * it is replaced) — with its colour: `live` for the live runner of its pipeline, else the side it
   * was started as.
   */
  supervised(): SupervisedRunner[] {
    const live = new Map(this.#o.live.all().map((l) => [l.runner, l.artifact]));
    this.#pruneExited();
    const out: SupervisedRunner[] = [];
    for (const [runner, artifact] of live)
      out.push({
        pipeline: artifact.pipeline,
        version: artifact.version,
        digest: artifact.digest,
        colour: 'live',
        runner,
      });
    for (const [runner, { role, artifact, at }] of this.#started) {
      if (live.has(runner)) continue;
      out.push({
        pipeline: artifact.pipeline,
        version: artifact.version,
        digest: artifact.digest,
        colour: colourOf(role, at, this.#o.deployingSince(artifact.pipeline)),
        runner,
      });
    }
    return out;
  }
}
