import { EventEmitter } from 'node:events';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { ArtifactStore } from '../artifact/artifact-store.js';
import { errorToJSON, SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { openLog } from '../log/open-log.js';
import { resolveSecrets } from '../pipeline/secrets.js';
import { resolveSchemaRegistry } from '../runtime/registry-options.js';
import { type CommitEvent, type DlqEvent, type RegistryUnavailableEvent, Runner } from '../runtime/runner.js';
import { runSample, type SampleInput, type SampleOutput } from '../runtime/sample-run.js';
import type { RunnerCommit, RunnerSpec, RunnerStats } from './supervisor.js';

/**
 * One runner as a supervisor runs it, wherever that is (a child process, or in-process): the artifact
 * verified and loaded from the store by digest, the log opened, the `Runner` started in standby, and
 * its figures kept. Events: `state`, `commit` (RunnerCommit), `dlq`, `failed` ({ code?, message }).
 */
export class RunnerSession extends EventEmitter {
  readonly spec: RunnerSpec;
  readonly runner: Runner;
  readonly log: Log;
  // The commit events' latency counts only records appended after activation, as the runner's stats do.
  #activatedAt = Number.POSITIVE_INFINITY;
  #closing: Promise<void> | undefined;

  private constructor(spec: RunnerSpec, runner: Runner, log: Log) {
    super();
    this.spec = spec;
    this.runner = runner;
    this.log = log;
    runner.on('state', (state) => {
      if (state === 'running') this.#activatedAt = Math.min(this.#activatedAt, Date.now());
      this.emit('state', state);
    });
    runner.on('commit', (e: CommitEvent) => this.#onCommit(e));
    runner.on('dlq', (e: DlqEvent) => this.emit('dlq', e));
    runner.on('error', (err: unknown) => this.emit('failed', errorToJSON(err)));
  }

  /**
   * Loads the spec's artifact from the store at `artifactsDir` (verified against its digest; a pipeline
   * other than the one the spec names is refused), opens its log and starts the runner: ends in standby.
   */
  static async open(
    spec: RunnerSpec,
    artifactsDir: string,
    /** Told each time the runner waits for an unreachable schema registry, from its start on. */
    onRegistryUnavailable?: (event: RegistryUnavailableEvent) => void,
  ): Promise<RunnerSession> {
    const loaded = await new ArtifactStore({ dir: artifactsDir }).load(spec.digest);
    if (loaded.manifest.name !== spec.pipeline) {
      throw new SlipwayError(
        'SLIPWAY_ARTIFACT_MISMATCH',
        `Artifact ${spec.digest} runs pipeline '${loaded.manifest.name}', not '${spec.pipeline}'.`,
        { details: { digest: spec.digest, pipeline: spec.pipeline } },
      );
    }
    // Resolved here, in the runner's process: the values never reach the control plane.
    const secrets = await resolveSecrets(spec.secrets);
    const password =
      spec.datastore?.password === undefined
        ? undefined
        : (await resolveSecrets({ 'datastore password': spec.datastore.password })).get('datastore password');
    const schemaRegistry = await resolveSchemaRegistry(spec.log.schemaRegistry);
    const log = await openLog(spec.log, { commitThread: true });
    const runner = new Runner({
      secrets,
      ...(schemaRegistry === undefined ? {} : { schemaRegistry }),
      pipeline: loaded.pipeline,
      log,
      config: spec.config,
      ...(spec.mode === undefined ? {} : { mode: spec.mode }),
      ...(spec.shadowId === undefined ? {} : { shadowId: spec.shadowId }),
      ...(spec.owner === undefined ? {} : { owner: spec.owner }),
      ...(spec.group === undefined ? {} : { group: spec.group }),
      ...(spec.batchSize === undefined ? {} : { batchSize: spec.batchSize }),
      ...(spec.assignment === undefined ? {} : { assignment: spec.assignment }),
      ...(spec.keyRange === undefined ? {} : { keyRange: spec.keyRange }),
      ...(spec.datastore === undefined
        ? {}
        : { datastore: { ...spec.datastore.datastore, ...(password === undefined ? {} : { password }) } }),
      // Recorded in every dead letter it writes, for `slipway dlq` and replays.
      provenance: { artifact: spec.digest, ...(spec.deployment === undefined ? {} : { deployment: spec.deployment }) },
    });
    if (onRegistryUnavailable !== undefined) runner.on('registry-unavailable', onRegistryUnavailable);
    const session = new RunnerSession(spec, runner, log);
    try {
      await runner.start();
    } catch (err) {
      await log.close().catch(() => {});
      throw err;
    }
    return session;
  }

  #onCommit(e: CommitEvent): void {
    let max = 0;
    for (const ts of e.inputTimestamps) {
      if (ts < this.#activatedAt) continue;
      const l = e.committedAt - ts;
      if (l > max) max = l;
    }
    this.emit('commit', {
      inputs: e.inputs,
      outputs: e.outputs,
      dlq: e.dlq,
      committedAt: e.committedAt,
      maxLatencyMs: max,
    } satisfies RunnerCommit);
  }

  /** The runner's figures (`Runner.stats`). Reading them changes nothing. */
  stats(): Promise<RunnerStats> {
    return this.runner.stats();
  }

  /** Its Prometheus metrics as JSON, the lag gauge fresh, for the supervisor to aggregate. */
  async metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    if (this.runner.state !== 'created') await this.runner.lag();
    return this.runner.metrics.registry.getMetricsAsJSON();
  }

  sample(inputs: SampleInput[]): SampleOutput[] {
    return runSample(this.runner, inputs);
  }

  /** Stops the runner (it finishes its batch and commits) and closes the log. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.runner.stop();
      } finally {
        await this.log.close();
      }
    })();
    return this.#closing;
  }
}
