/**
 * The control plane's record of truth: deployments with their step-by-step events, what is live
 * (releases), and runner heartbeats. SQLite by default (`openSqliteControlStore`); a PostgreSQL
 * store implements the same interface for teams.
 */

export type Strategy = 'blue-green' | 'canary' | 'recreate' | 'scale';

export type DeploymentStatus = 'running' | 'completed' | 'rolled_back' | 'aborted' | 'failed';

/** Statuses a deployment never leaves. */
export const TERMINAL_STATUSES: readonly DeploymentStatus[] = ['completed', 'rolled_back', 'aborted', 'failed'];

/** What runs: an artifact (by digest, with its bundle) or, in development, a pipeline module. */
export interface ArtifactRef {
  /** `sha256:…` when deployed from the artifact store. */
  digest?: string;
  /** The module the runner loads: the artifact's bundle.mjs, or a pipeline source file. */
  module: string;
  /** Pipeline name and version, from the manifest or the module. */
  pipeline: string;
  version: string;
}

export interface GateConfig {
  /** Most DLQ records per input record allowed (default 0.01). */
  maxDlqRatio?: number;
  /** Highest end-to-end p99 latency allowed during bake, ms (default 5000). */
  maxP99LatencyMs?: number;
  /** Most records behind allowed at the end of bake (default 100000). */
  maxLag?: number;
  /** Most changed + missing + extra outputs per compared output in the shadow diff (default 0). */
  maxDiffRatio?: number;
  /** Output fields expected to change: differences in them do not count. */
  allowChangedFields?: string[];
}

export interface DeployOptions {
  strategy: Strategy;
  config?: unknown;
  /**
   * Shadow phase (blue-green): how many input records green processes in shadow, and the longest
   * wait. When fewer live records than that arrive, the `default` samples of the inputs in the
   * `samples` folder (absolute path) are run through both versions and diffed instead.
   */
  shadow?: { records: number; timeoutMs?: number; samples?: string };
  /** Bake time after cutover, ms (default 2000). */
  bakeMs?: number;
  gates?: GateConfig;
  /** Canary steps, percent of keys (default [1, 10, 50, 100]) and time per step, ms. */
  canary?: { steps?: number[]; stepMs?: number };
  /** `scale`: how many runner processes the live version runs as from now on. */
  runners?: number;
  batchSize?: number;
  /** Set when a local deployment skipped the release gate (`--allow-untested`); kept in the deployment's history. */
  untested?: boolean;
}

export interface DeploymentRecord {
  id: string;
  pipeline: string;
  environment: string;
  artifact: ArtifactRef;
  /** What was live before (null for a first deployment). */
  previous: ArtifactRef | null;
  options: DeployOptions;
  status: DeploymentStatus;
  /** The step in progress or last done. */
  step: string;
  /** Figures and outcomes: pause, diff, gate results, rollback time. */
  summary: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export type EventKind = 'begin' | 'end' | 'info' | 'error';

export interface DeploymentEvent {
  seq: number;
  deploymentId: string;
  at: number;
  step: string;
  kind: EventKind;
  data: Record<string, unknown>;
}

/** What is live for a pipeline in an environment. */
export interface Release {
  pipeline: string;
  environment: string;
  artifact: ArtifactRef;
  config: unknown;
  deploymentId: string | null;
  /** How many runner processes run it, each with a share of the input partitions (default 1). */
  runners?: number;
  updatedAt: number;
}

export interface Heartbeat {
  runnerId: string;
  pipeline: string;
  role: string;
  pid: number | null;
  state: string;
  at: number;
  stats: Record<string, unknown>;
}

/** The test layers `slipway test` runs, by folder convention. */
export type TestLayer = 'unit' | 'integration' | 'e2e';

/** Counts of one test layer. */
export interface TestLayerResult {
  passed: number;
  failed: number;
  skipped: number;
  /** Test files found for the layer (0: the layer was not run). */
  files: number;
}

/** A failing test: its name (with its suites, `group > test`) and the file it is in. */
export interface TestFailure {
  layer: TestLayer;
  name: string;
  file: string | null;
  message?: string;
}

/** The result of `slipway test` for one artifact, which the release gate reads. */
export interface TestReport {
  /** `sha256:…` of the artifact the tests ran against. */
  digest: string;
  passed: boolean;
  layers: Record<TestLayer, TestLayerResult>;
  failures: TestFailure[];
  /** Milliseconds since the epoch. */
  startedAt: number;
  durationMs: number;
}

export interface ControlStore {
  createDeployment(record: Omit<DeploymentRecord, 'createdAt' | 'updatedAt'>): Promise<DeploymentRecord>;
  updateDeployment(
    id: string,
    patch: Partial<Pick<DeploymentRecord, 'status' | 'step' | 'summary'>>,
  ): Promise<DeploymentRecord>;
  getDeployment(id: string): Promise<DeploymentRecord | undefined>;
  listDeployments(filter?: { pipeline?: string; environment?: string; limit?: number }): Promise<DeploymentRecord[]>;
  /** Deployments still running (to resume after a restart). */
  activeDeployments(): Promise<DeploymentRecord[]>;
  /** Records a step event. Every step is recorded before it is acted on. */
  appendEvent(
    deploymentId: string,
    step: string,
    kind: EventKind,
    data?: Record<string, unknown>,
  ): Promise<DeploymentEvent>;
  events(deploymentId: string): Promise<DeploymentEvent[]>;
  getRelease(pipeline: string, environment: string): Promise<Release | undefined>;
  listReleases(environment?: string): Promise<Release[]>;
  setRelease(release: Omit<Release, 'updatedAt'>): Promise<void>;
  heartbeat(beat: Omit<Heartbeat, 'at'>): Promise<void>;
  heartbeats(): Promise<Heartbeat[]>;
  /** Records a test report; the newest one for a digest is the one that counts. */
  putTestReport(report: TestReport): Promise<void>;
  /** The newest test report for exactly this digest, if any. */
  latestTestReport(digest: string): Promise<TestReport | undefined>;
  close(): Promise<void>;
}
