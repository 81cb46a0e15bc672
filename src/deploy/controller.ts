import { EventEmitter } from 'node:events';
import type { ArtifactStore } from '../artifact/artifact-store.js';
import type { PipelineDescription } from '../artifact/manifest.js';
import { SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { type LogConfig, openLog } from '../log/open-log.js';
import type { SecretReference } from '../pipeline/secrets.js';
import type { SinkLog } from '../runtime/sink-log.js';
import type { RunnerSupervisor, SinkDatastoreRef } from '../supervisor/supervisor.js';
import type { ControlStore } from './control-store.js';
import { datasetUses } from './dataset-registry.js';
import type { DeployOptions, DeployRequestOptions } from './deploy-options.js';
import { planDeploy } from './deploy-plan.js';
import type { ArtifactRef, ContractMigrations, DeploymentEvent, DeploymentRecord, Release } from './deployment.js';
import { newDeploymentId } from './deployment-id.js';
import { DeploymentSteps, stepError } from './deployment-steps.js';
import { type LiveRunner, LiveRunners } from './live-runners.js';
import { outputReader } from './output-formats.js';
import { writeReleaseMarker } from './release-marker.js';
import { ReleaseOperations } from './release-operations.js';
import type { ReplayRequestBody } from './replay-options.js';
import type { SupervisedRunner } from './runner-colour.js';
import { RunnerStarter } from './runner-start.js';
import { shadowNames } from './shadow-names.js';
import { handoffSinkLog, removeSinkShadowOf, sinkDatastore } from './sink-handoff.js';
import { runBlueGreen } from './strategies/blue-green.js';
import { canaryOwnsBlue, canarySteps, runCanary } from './strategies/canary.js';
import { runRecreate } from './strategies/recreate.js';
import { type ReplayPlanView, runReplay } from './strategies/replay.js';
import { runScale } from './strategies/scale.js';
import type { StrategyContext } from './strategy-context.js';

export interface ControllerOptions {
  store: ControlStore;
  /** Starts the runners: child processes for a daemon, in-process runners for tests and tools. */
  supervisor: RunnerSupervisor;
  /**
   * The artifact store the supervisor loads from. The controller only reads manifests from it
   * (verified against their digests); it never loads an artifact's code.
   */
  artifacts: ArtifactStore;
  /** The environment's log; every runner gets the same. */
  log: LogConfig;
  environment?: string;
  /** How this control plane names itself in the log's release markers (its URL once it has one). */
  name?: () => string;
  /** How often the live runners' heartbeats are recorded, ms (default 5000). */
  heartbeatMs?: number;
  /**
   * The secrets of a pipeline in this environment, by reference: handed to each of its runners, which
   * resolve them in their own process. The controller never sees a value.
   */
  secretsOf?: (pipeline: string) => Record<string, SecretReference> | undefined;
  /** How many runner processes a pipeline's first release here runs as (the environment's `runners`; default 1). */
  runnersOf?: (pipeline: string) => number | undefined;
  /**
   * The environment's datastore `datastore` (a sink table's `datastore`, `main` by default) for a sink
   * pipeline, with its password by secret reference: handed to the pipeline's runners, and used by the
   * controller itself (the reference resolved in its process) to fence the pipeline's owner and read its
   * committed offsets in the database at each handoff.
   */
  datastoreOf?: (pipeline: string, datastore: string) => SinkDatastoreRef | undefined;
  /**
   * The environment's contract migrations (expand-and-contract): run by a deployment once it has retired
   * the previous version, never while that one runs (see `datastoreContractHook`).
   */
  contractMigrations?: ContractMigrations;
}

/** The deployment's contract migrations, bound to it. */
function contractOf(hook: ContractMigrations, environment: string, record: DeploymentRecord) {
  const input = { environment, deployment: record.id, green: record.artifact, blue: record.previous };
  return { pending: () => hook.pending(input), apply: () => hook.apply(input) };
}

/**
 * The controller: runs deployments as persisted state machines and keeps the live runner of every
 * pipeline running. Every step is recorded in the control store before it is acted on; `start()`
 * resumes deployments a crash interrupted. It works from artifacts by digest (manifests for what it
 * needs to know) and drives runners only through its supervisor.
 *
 * Events: `event` (DeploymentEvent), `pipeline-event`, `resume` (DeploymentRecord), `runner-exit`,
 * `runner-restarted`, `alert`, `error-event`.
 */
export class Controller extends EventEmitter {
  readonly store: ControlStore;
  readonly supervisor: RunnerSupervisor;
  readonly artifacts: ArtifactStore;
  readonly logConfig: LogConfig;
  readonly environment: string;
  readonly #name: () => string;
  readonly #heartbeatMs: number;
  readonly #runnersOf: (pipeline: string) => number | undefined;
  readonly #datastoreOf: NonNullable<ControllerOptions['datastoreOf']>;
  #log: Log | undefined;
  readonly #live: LiveRunners;
  readonly #running = new Map<string, Promise<DeploymentRecord>>();
  readonly #rollbackTriggers = new Map<string, () => void>();
  readonly #manifests = new Map<string, PipelineDescription>();
  readonly #handoff = new Set<string>();
  readonly #starter: RunnerStarter;
  readonly #operations: ReleaseOperations;
  /** When the deployment running for a pipeline began (this run of it), by pipeline. */
  readonly #deployingSince = new Map<string, number>();
  #heartbeat: NodeJS.Timeout | undefined;
  #closing = false;
  readonly #contract: ContractMigrations | undefined;

  constructor(options: ControllerOptions) {
    super();
    this.store = options.store;
    this.supervisor = options.supervisor;
    this.artifacts = options.artifacts;
    this.logConfig = options.log;
    this.environment = options.environment ?? 'local';
    this.#name = options.name ?? (() => `control plane (pid ${process.pid})`);
    this.#heartbeatMs = options.heartbeatMs ?? 5000;
    this.#runnersOf = options.runnersOf ?? (() => undefined);
    this.#datastoreOf = options.datastoreOf ?? (() => undefined);
    this.#contract = options.contractMigrations;
    this.#live = new LiveRunners({
      store: this.store,
      environment: this.environment,
      events: this,
      owned: (pipeline) => this.#handoff.has(pipeline),
      closing: () => this.#closing,
      restart: (live) => this.#starter.restartLive(live),
      epochOf: (owner) => this.log.currentEpoch(owner),
    });
    this.#starter = new RunnerStarter({
      supervisor: this.supervisor,
      log: this.logConfig,
      live: this.#live,
      events: this,
      secretsOf: options.secretsOf ?? (() => undefined),
      datastoreOf: (pipeline, name) => sinkDatastore(this.#datastoreOf, this.environment, pipeline, name),
      manifestOf: (artifact) => this.manifestOf(artifact),
      mayRestart: (pipeline) => !this.#closing && !this.#handoff.has(pipeline),
      deployingSince: (pipeline) => this.#deployingSince.get(pipeline),
      mark: (pipeline, artifact, deploymentId) => this.#mark(pipeline, artifact, deploymentId),
    });
    this.#operations = new ReleaseOperations({
      store: this.store,
      environment: this.environment,
      log: () => this.log,
      manifestOf: (artifact) => this.manifestOf(artifact),
      launch: (record) => this.#launch(record),
      inHandoff: (pipeline) => this.#handoff.has(pipeline),
      removeLive: (pipeline) => this.#live.remove(pipeline),
    });
  }

  get log(): Log {
    if (this.#log === undefined) throw new SlipwayError('SLIPWAY_INVALID_STATE', 'The controller is not started.');
    return this.#log;
  }

  /** Starts the live runner of every released pipeline, then resumes interrupted deployments. */
  async start(): Promise<void> {
    this.#log = await openLog(this.logConfig);
    const active = await this.store.activeDeployments(this.environment);
    for (const release of await this.store.listReleases(this.environment)) {
      // A canary cut short before its cutover splits keys between blue and green: it restarts both
      // sides itself, each with its share, instead of blue taking every key again here.
      if (active.some((d) => d.pipeline === release.pipeline && canaryOwnsBlue(d, release.artifact))) continue;
      await this.#starter.startLive(release);
    }
    for (const d of active) {
      this.emit('resume', d);
      this.#launch(d);
    }
    this.#heartbeat = setInterval(() => void this.#live.heartbeat(), this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  /** What an artifact's manifest says of its pipeline (verified against its digest once, then cached). */
  async manifestOf(artifact: ArtifactRef): Promise<PipelineDescription> {
    let m = this.#manifests.get(artifact.digest);
    if (m === undefined) {
      m = (await this.artifacts.verify(artifact.digest)).manifest;
      this.#manifests.set(artifact.digest, m);
    }
    return m;
  }

  /**
   * An artifact of the store by digest or unique prefix, verified (an unknown or tampered artifact
   * is refused here, before anything starts), and recorded in the control store.
   */
  async resolveArtifact(ref: string): Promise<ArtifactRef> {
    const entry = await this.artifacts.verify(ref);
    const artifact = { digest: entry.digest, pipeline: entry.manifest.name, version: entry.manifest.version };
    this.#manifests.set(entry.digest, entry.manifest);
    await this.store.putArtifact({
      ...artifact,
      inputs: entry.manifest.inputs.map((d) => d.topic),
      outputs: entry.manifest.outputs.map((d) => d.topic),
      builtAt: entry.builtAt?.getTime() ?? null,
      registeredAt: Date.now(),
    });
    await this.store.putDatasetVersions(artifact, datasetUses(entry.manifest));
    return artifact;
  }

  /** Tells whoever reads this log that this control plane runs `pipeline` as `artifact`. */
  async #mark(pipeline: string, artifact: ArtifactRef, deploymentId: string | null): Promise<void> {
    await writeReleaseMarker(this.log, {
      pipeline,
      environment: this.environment,
      controlPlane: this.#name(),
      digest: artifact.digest,
      version: artifact.version,
      deploymentId,
      at: Date.now(),
      managed: true,
    }).catch((err: unknown) => this.emit('error-event', err));
  }

  /**
   * Every runner this controller supervises — started and not exited, and every live runner (even a
   * dead one, until it is replaced) — with its colour: `live` for the live runner of its pipeline,
   * else the side it was started as. For metrics and status.
   */
  supervisedRunners(): SupervisedRunner[] {
    return this.#starter.supervised();
  }

  /**
   * Starts a deployment of an artifact (digest or unique prefix) and returns its record at once;
   * `wait(id)` resolves when it ends. Refused before anything starts (`SLIPWAY_DEPLOY_REFUSED`, or
   * `SLIPWAY_INVALID_CONFIG` naming the field) when a deployment of the same pipeline is running,
   * or the config does not fit the artifact's schema; `SLIPWAY_STATE_MIGRATION_MISSING` when the state
   * layout changes without a migration from the live one, `SLIPWAY_STATE_IRREVERSIBLE` when the
   * migration has no `down` and `irreversibleState` is not set (see `plannedStateChange`).
   * Without `config`, the live release's config is carried forward (the `config` event lists what
   * changes); the first release gets the schema's defaults.
   */
  async deploy(
    ref: string,
    request: DeployRequestOptions & Pick<DeployOptions, 'untested' | 'promotion'> = {},
  ): Promise<DeploymentRecord> {
    // Canary steps are checked before the artifact is looked up (as they always were).
    if (request.strategy === 'canary') canarySteps(request.canary?.steps);
    const artifact = await this.resolveArtifact(ref);
    const manifest = await this.manifestOf(artifact);
    const release = await this.store.getRelease(artifact.pipeline, this.environment);
    const previous = release === undefined ? undefined : await this.manifestOf(release.artifact);
    const { options, configFrom, changes, stateChange } = planDeploy({
      environment: this.environment,
      manifest,
      release,
      previous,
      request,
    });
    const strategy = options.strategy;
    const { record } = await this.store.createDeployment(
      {
        id: newDeploymentId(),
        pipeline: artifact.pipeline,
        environment: this.environment,
        artifact,
        previous: release?.artifact ?? null,
        options,
        summary: { strategy, startedAt: Date.now() },
      },
      { artifact, previous: release?.artifact ?? null, options },
    );
    if (configFrom !== 'request' || changes.length > 0)
      await this.store.appendEvent(record.id, { step: 'config', kind: 'info', data: { from: configFrom, changes } });
    // Said before it starts: the state changes layout, and whether a rollback can take it back.
    if (stateChange !== undefined) {
      const { from, to, direction, reversible } = stateChange;
      await this.store.appendEvent(record.id, {
        step: 'state-migration',
        kind: 'info',
        data: { what: 'planned', from, to, direction, reversible },
      });
    }
    this.#launch(record);
    return record;
  }

  #launch(record: DeploymentRecord): void {
    let trigger: () => void = () => {};
    const rollbackRequested = new Promise<void>((resolve) => {
      trigger = resolve;
    });
    this.#rollbackTriggers.set(record.id, trigger);
    const run = this.#run(record, rollbackRequested).finally(() => {
      this.#running.delete(record.id);
      this.#rollbackTriggers.delete(record.id);
    });
    this.#running.set(record.id, run);
    run.catch(() => {});
  }

  async #run(record: DeploymentRecord, rollbackRequested: Promise<void>): Promise<DeploymentRecord> {
    const steps = new DeploymentSteps(this.store, record, await this.store.events(record.id), (e: DeploymentEvent) =>
      this.emit('event', e),
    );
    const pipelineName = record.pipeline;
    const release = await this.store.getRelease(pipelineName, this.environment);
    const configOf = (artifact: ArtifactRef): unknown =>
      artifact.digest === record.artifact.digest ? record.options.config : record.options.previousConfig;
    const onRunnerNote = (id: string, exit: { signal?: string | null; code?: number | null }) =>
      void steps
        .info('runner', { runner: id, what: 'exited', detail: exit.signal ?? `code ${exit.code}` })
        .catch(() => {});
    const manifest = await this.manifestOf(record.artifact);
    // A sink pipeline's owner, offsets and state are in its datastore: the handoff fences and reads them there.
    const sinkLog =
      manifest.sink === undefined
        ? undefined
        : await handoffSinkLog(
            this.log,
            manifest,
            sinkDatastore(this.#datastoreOf, this.environment, manifest.name, manifest.sink.datastore),
          );
    const ctx: StrategyContext = {
      steps,
      log: sinkLog ?? this.log,
      manifest,
      live: () => this.#live.get(pipelineName)?.runner,
      liveArtifact: () => this.#live.get(pipelineName)?.artifact,
      startRunner: async (artifact, role, extra = {}, runners = 1) => {
        const runner = await this.#starter.spawn(
          artifact,
          role,
          configOf(artifact),
          {
            deployment: record.id,
            ...(record.options.batchSize ? { batchSize: record.options.batchSize } : {}),
            ...extra,
          },
          runners,
        );
        runner.on('exit', (exit: { expected: boolean; signal: string | null; code: number | null }) => {
          if (!exit.expected && !this.#closing) onRunnerNote(runner.spec.id, exit);
        });
        return runner;
      },
      runners: () => release?.runners ?? this.#runnersOf(pipelineName) ?? 1,
      adoptLive: (runner, artifact) => this.#live.set(pipelineName, runner, artifact, configOf(artifact)),
      closing: () => this.#closing,
      manifestOf: (artifact) => this.manifestOf(artifact),
      setLive: async (runner, artifact) => {
        const config = configOf(artifact);
        this.#live.set(pipelineName, runner, artifact, config);
        await this.store.setRelease({
          pipeline: pipelineName,
          environment: this.environment,
          artifact,
          config,
          deploymentId: record.id,
          runners: runner.size,
        });
        await this.#mark(pipelineName, artifact, record.id);
      },
      outputReader: (topics) => outputReader(sinkLog ?? this.log, this.logConfig.schemaRegistry, topics),
      removeShadow: (shadowId) => this.#removeShadow(ctx.manifest, shadowId, sinkLog),
      ...(this.#contract === undefined ? {} : { contract: contractOf(this.#contract, this.environment, record) }),
      warm: undefined,
      rollbackRequested,
      owner: `slipway.${pipelineName}`,
      group: `slipway.${pipelineName}`,
    };
    this.#handoff.add(pipelineName);
    this.#deployingSince.set(pipelineName, Date.now());
    try {
      switch (record.options.strategy) {
        case 'blue-green':
          return await runBlueGreen(ctx);
        case 'recreate':
          return await runRecreate(ctx);
        case 'canary':
          return await runCanary(ctx);
        case 'scale':
          return await runScale(ctx);
        case 'replay':
          return await runReplay(ctx);
        default:
          throw new SlipwayError('SLIPWAY_DEPLOY_REFUSED', `Unknown strategy '${String(record.options.strategy)}'.`);
      }
    } catch (err) {
      if (this.#closing) throw err;
      const step = steps.record.step;
      const reason =
        step === 'planned' || step === 'config' ? 'starting the new version failed' : `step ${step} failed`;
      return steps.finish('failed', { error: stepError(err), reason });
    } finally {
      await sinkLog?.close();
      this.#handoff.delete(pipelineName);
      this.#deployingSince.delete(pipelineName);
      if (ctx.warm !== undefined && ctx.warm !== this.#live.get(pipelineName)?.runner)
        await ctx.warm.stop().catch(() => {});
      // A live runner that died while the deployment owned the pipeline was left for it; if it is
      // still dead (the deployment ended without replacing it), restart it now.
      this.#live.restartIfDead(pipelineName);
    }
  }

  /** Removes what a shadow run made; returns what it removed (for the deployment's record). */
  async #removeShadow(manifest: PipelineDescription, shadowId: string, sinkLog?: SinkLog): Promise<string[]> {
    const names = shadowNames(manifest, shadowId);
    // A sink's shadow keeps its table, offsets, owner and state in the datastore.
    const removedFromDatastore = sinkLog === undefined ? [] : await removeSinkShadowOf(sinkLog, manifest, shadowId);
    const log = this.log;
    const existing = new Set((await log.listTopics()).map((t) => t.name));
    const topics = names.topics.filter((t) => existing.has(t));
    await log.deleteTopics(topics);
    await log.deleteGroups([names.group]);
    await log.forgetOwners([names.owner]);
    await log.deleteStateNamespaces([names.stateNamespace]);
    return [
      ...topics,
      ...removedFromDatastore,
      `group ${names.group}`,
      `owner ${names.owner}`,
      `state ${names.stateNamespace}`,
    ];
  }

  /**
   * Runs the live version of `pipeline` as `runners` processes from now on, each owning a share of
   * the input partitions, with an exact handoff (see `runScale`). Recorded and resumable like a
   * deployment; refused while a deployment of the pipeline runs. Returns the record at once.
   */
  scale(pipeline: string, runners: number): Promise<DeploymentRecord> {
    return this.#operations.scale(pipeline, runners);
  }

  /**
   * Replays dead letters of `pipeline` through its live version (see `runReplay`): recorded and resumable like a
   * deployment, refused while one of the pipeline runs. Returns the plan and the replay's record at once
   * (`wait(id)` for its end); with `dryRun`, the plan only. Refused with `SLIPWAY_NOTHING_TO_REPLAY` when the
   * selection leaves nothing to replay, `SLIPWAY_DEPLOYMENT_NOT_FOUND` when the pipeline is not deployed.
   *
   * @example
   * const { deployment } = await controller.replayDeadLetters('enrich-orders', { deployment: 'dep-lx2a-3f9a' })
   */
  replayDeadLetters(
    pipeline: string,
    request: ReplayRequestBody = {},
  ): Promise<{ plan: ReplayPlanView; deployment: DeploymentRecord | null }> {
    return this.#operations.replayDeadLetters(pipeline, request);
  }

  /**
   * Stops `pipeline` here for good: its live runner commits its last batch and stops, and its release is
   * removed, so it no longer reads or writes its datasets (a major it used can then be retired).
   * Refused with `SLIPWAY_DEPLOY_REFUSED` while a deployment of it runs.
   */
  undeploy(pipeline: string): Promise<Release> {
    return this.#operations.undeploy(pipeline);
  }

  /** Resolves with the deployment's final record. */
  async wait(id: string): Promise<DeploymentRecord> {
    const running = this.#running.get(id);
    if (running !== undefined) return running;
    const record = await this.store.getDeployment(id);
    if (record === undefined) throw new SlipwayError('SLIPWAY_DEPLOYMENT_NOT_FOUND', `No deployment '${id}'.`);
    return record;
  }

  /** Asks the running deployment of a pipeline to roll back. Resolves with its id, or undefined if none runs. */
  async rollback(pipeline: string): Promise<string | undefined> {
    for (const d of await this.store.activeDeployments(this.environment)) {
      if (d.pipeline === pipeline) {
        this.#rollbackTriggers.get(d.id)?.();
        return d.id;
      }
    }
    return undefined;
  }

  /** The live runners, for status. */
  liveRunners(): LiveRunner[] {
    return this.#live.all();
  }

  /** Stops every runner gracefully (each commits its last batch) and closes the log. Deployments in flight resume on the next start. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#heartbeat);
    await this.supervisor.close();
    await Promise.allSettled([...this.#running.values()]);
    await this.#log?.close();
  }
}
