import type { RunnerStats } from '../supervisor/supervisor.js';
import type { DeployOptions } from './deploy-options.js';
import type {
  ArtifactRef,
  DeploymentEvent,
  DeploymentEventBody,
  DeploymentRecord,
  DeploymentSummary,
  InfoData,
  Release,
} from './deployment.js';
import type { TestReport } from './test-report.js';

/**
 * The control plane's record of truth, as the controller writes it: artifacts it was asked to run,
 * deployments with their step-by-step events, what is live (releases), its runners, what happened to
 * them, and test reports for the release gate. SQLite by default (`openSqliteControlStore`); every
 * implementation passes the contract suite (`runControlStoreContract`), and a PostgreSQL store for
 * teams is done when it does.
 */
export interface ControlStore {
  /** Records an artifact the control plane was asked to run; idempotent by digest (the first record stays). */
  putArtifact(artifact: ArtifactRecord): Promise<void>;
  getArtifact(digest: string): Promise<ArtifactRecord | undefined>;
  /** Newest first. */
  listArtifacts(filter?: { pipeline?: string }): Promise<ArtifactRecord[]>;

  /**
   * Creates a deployment and its first event (`planned`) in one transaction. Refused with
   * `SLIPWAY_DEPLOY_REFUSED` (nothing written) while another deployment of the same pipeline in the
   * same environment is running: the store itself holds the rule, so two controllers cannot both start one.
   */
  createDeployment(
    record: NewDeployment,
    planned: InfoData<'planned'>,
  ): Promise<{ record: DeploymentRecord; event: DeploymentEvent }>;
  /** Changes status, step or summary; `SLIPWAY_DEPLOYMENT_NOT_FOUND` for an unknown id. */
  updateDeployment(
    id: string,
    patch: Partial<Pick<DeploymentRecord, 'status' | 'step' | 'summary'>>,
  ): Promise<DeploymentRecord>;
  getDeployment(id: string): Promise<DeploymentRecord | undefined>;
  /** Newest first (default limit 50). */
  listDeployments(filter?: { pipeline?: string; environment?: string; limit?: number }): Promise<DeploymentRecord[]>;
  /** Deployments still running (to resume after a restart), oldest first. */
  activeDeployments(environment?: string): Promise<DeploymentRecord[]>;
  /** Records a step event. Every step is recorded before it is acted on. Events get increasing `seq`s. */
  appendEvent(deploymentId: string, event: DeploymentEventBody): Promise<DeploymentEvent>;
  /** A deployment's events in order, those after `after` (a seq) when given. */
  events(deploymentId: string, after?: number): Promise<DeploymentEvent[]>;

  getRelease(pipeline: string, environment: string): Promise<Release | undefined>;
  listReleases(environment?: string): Promise<Release[]>;
  /** Makes a release live, and appends it to the release history of its pipeline and environment. */
  setRelease(release: Omit<Release, 'updatedAt'>): Promise<void>;
  /** The pipeline is no longer live in the environment (undeployed); its release history stays. */
  removeRelease(pipeline: string, environment: string): Promise<void>;
  /** What was live for a pipeline in an environment, newest first (default limit 20). */
  releaseHistory(pipeline: string, environment: string, limit?: number): Promise<Release[]>;

  /** Records an approval to promote a digest of a pipeline into an environment. */
  putApproval(approval: Omit<Approval, 'at'>): Promise<Approval>;
  /** Approvals of a pipeline in an environment, newest first; only those of `digest` when given. */
  approvals(pipeline: string, environment: string, digest?: string): Promise<Approval[]>;

  /** Upserts a runner's record (its latest heartbeat) by id. */
  recordRunner(runner: Omit<RunnerRecord, 'at'>): Promise<void>;
  /** Runner records, by id. */
  runners(filter?: { environment?: string; pipeline?: string }): Promise<RunnerRecord[]>;
  removeRunner(id: string): Promise<void>;

  /** Records something that happened to a pipeline outside a deployment's steps (a runner restarted, fenced, a DLQ replay). */
  appendPipelineEvent(event: Omit<PipelineEvent, 'seq' | 'at'>): Promise<PipelineEvent>;
  /** Newest last (default limit 100). */
  pipelineEvents(filter?: { pipeline?: string; environment?: string; limit?: number }): Promise<PipelineEvent[]>;

  /**
   * The dataset registry: records the dataset versions an artifact declares and its use of each
   * (input or output). Idempotent: a version (name, version, schema digest) keeps its first sighting;
   * uses accumulate, one per artifact, dataset and role. A version seen with two schemas is kept
   * twice, so the clash stays visible (`slipway datasets check` refuses it).
   */
  putDatasetVersions(artifact: ArtifactRef, datasets: DatasetVersionUse[]): Promise<void>;
  /** Registered dataset versions, by name then version (oldest first); those of one dataset when named. */
  datasetVersions(filter?: { name?: string }): Promise<DatasetVersionRecord[]>;
  /** Marks a major of a dataset retired (`slipway datasets retire`); idempotent (the first time stays). */
  retireDataset(name: string, major: number): Promise<void>;

  /** Records a test report; the newest one for a digest is the one that counts. */
  putTestReport(report: TestReport): Promise<void>;
  /** The newest test report for exactly this digest, if any. */
  latestTestReport(digest: string): Promise<TestReport | undefined>;

  /** Idempotent. */
  close(): Promise<void>;
}

/** Someone's approval to promote a digest of a pipeline into an environment (`slipway approve`). */
export interface Approval {
  pipeline: string;
  environment: string;
  digest: string;
  /** Who approved (the user name, or what `--by` said). */
  by: string;
  /** ms since the epoch. */
  at: number;
  note?: string;
}

/** A deployment as it is created (its times are the store's). */
export type NewDeployment = Omit<DeploymentRecord, 'createdAt' | 'updatedAt' | 'status' | 'step' | 'summary'> & {
  options: DeployOptions;
  summary: DeploymentSummary;
};

/** An artifact the control plane knows: its digest, what its manifest names, and when it was first seen. */
export interface ArtifactRecord extends ArtifactRef {
  /** The manifest's input and output topics. */
  inputs: string[];
  outputs: string[];
  /** When the artifact was built (from the store's index), if known. */
  builtAt: number | null;
  /** When this control plane first recorded it. */
  registeredAt: number;
}

/** A dataset version as one artifact declares it. */
export interface DatasetVersionUse {
  name: string;
  version: string;
  /** `<name>.v<major>` */
  topic: string;
  schema: Record<string, unknown>;
  schemaDigest: string;
  /** The dataset's compatibility mode (`backward` when it declares none). */
  compatibility: string;
  role: 'input' | 'output';
}

/** A dataset version in the registry: its schema, when it was first seen and by what, and who uses it. */
export interface DatasetVersionRecord {
  name: string;
  version: string;
  major: number;
  topic: string;
  schema: Record<string, unknown>;
  schemaDigest: string;
  compatibility: string;
  /** ms since the epoch. */
  firstSeenAt: number;
  /** The artifact that first declared it. */
  firstSeenBy: ArtifactRef;
  /** Every artifact that declares it, and as what; oldest first. */
  usedBy: Array<ArtifactRef & { role: 'input' | 'output' }>;
  /** When its major was retired (ms since the epoch), or null. */
  retiredAt: number | null;
}

/** A runner the control plane supervises, as of its latest heartbeat. */
export interface RunnerRecord {
  id: string;
  pipeline: string;
  environment: string;
  /** `live`, `green`, `blue`, `shadow`, `canary`… */
  role: string;
  digest: string;
  pid: number | null;
  state: string;
  /** Milliseconds since the epoch of the heartbeat. */
  at: number;
  stats: RunnerStats | null;
}

export type PipelineEventKind =
  | 'runner-exited'
  | 'runner-restarted'
  | 'runner-fenced'
  | 'runner-recovered'
  | 'dlq-replay'
  | 'run-refused'
  | 'undeployed';

/** Something that happened to a pipeline's runners outside a deployment's steps. */
export interface PipelineEvent {
  seq: number;
  pipeline: string;
  environment: string;
  at: number;
  kind: PipelineEventKind;
  /** The runner concerned, if one is. */
  runner: string | null;
  message: string;
  data: Record<string, unknown>;
}
