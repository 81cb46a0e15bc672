export interface RunBroker {
  /** `given` (KAFKA_BROKERS), `running` (the checkout's kafka:start broker), or `on-demand` (started by a test, stopped by finish). */
  mode: 'given' | 'running' | 'on-demand';
  /** The environment to run the tests with. */
  env: NodeJS.ProcessEnv;
  brokers?: string;
  /** `on-demand`: the run's state folder. */
  stateDir?: string;
  /** Stops the broker started for the run, if any (resolves true then), and removes its folder. Idempotent. */
  finish(): Promise<boolean>;
}

/** Decides which broker a test run uses, before it starts (see run-broker.mjs). */
export function prepareRunBroker(options?: { env?: NodeJS.ProcessEnv; runId?: number }): Promise<RunBroker>;
/** Stops the broker recorded in a run's state folder, if one was started, and removes the folder. */
export function stopRunBroker(dir: string, env?: NodeJS.ProcessEnv): Promise<boolean>;
/** Stops and removes the run folders beside `base` whose run has ended; resolves to the folders removed. */
export function sweepStaleRuns(base: string, env?: NodeJS.ProcessEnv): Promise<string[]>;
