import { type ClientResponse, hc } from 'hono/client';
import type { ArtifactManifest } from '../artifact/manifest.js';
import type { DeployRequest } from '../deploy/deploy-options.js';
import type { ReplayRequestBody } from '../deploy/replay-options.js';
import type { TestReport } from '../deploy/test-report.js';
import { type ErrorJSON, errorFromJSON, SlipwayError } from '../errors.js';
import { type ControlApi, ENVIRONMENT_HEADER } from './api.js';
import { readDaemonInfo } from './daemon-info.js';

/**
 * The control plane's HTTP API as the CLI (and anyone) calls it: typed from the API's own routes and
 * schemas (Hono's RPC client), so a request the API would refuse does not compile. A refused request
 * rejects with the API's SlipwayError (code, retryable flag and details kept).
 *
 * @example
 * const client = ControlPlaneClient.find('.slipway')
 * const record = await client.deploy({ artifact: 'sha256:3f2a…', strategy: 'blue-green' })
 */
export class ControlPlaneClient {
  readonly api: ReturnType<typeof hc<ControlApi>>;

  /** `environment`: which of the control plane's environments requests are for (`--env`); none for its only one. */
  constructor(
    readonly url: string,
    readonly environment?: string,
  ) {
    const fetchOrUnavailable: typeof fetch = async (input, init) => {
      try {
        return await fetch(input, init);
      } catch (err) {
        throw new SlipwayError(
          'SLIPWAY_DAEMON_UNAVAILABLE',
          `The control plane at ${this.url} does not answer (${(err as Error).message}). Is \`slipway up\` still running?`,
          { retryable: true, cause: err },
        );
      }
    };
    this.api = hc<ControlApi>(url, {
      fetch: fetchOrUnavailable,
      ...(environment === undefined ? {} : { headers: { [ENVIRONMENT_HEADER]: environment } }),
    });
  }

  /** The daemon of the project in `dir` (`.slipway`), or a clear error saying how to start one. */
  static find(dir: string, url?: string, environment?: string): ControlPlaneClient {
    const found = url ?? process.env.SLIPWAY_CONTROL_PLANE ?? readDaemonInfo(dir)?.url;
    if (found === undefined) {
      throw new SlipwayError(
        'SLIPWAY_DAEMON_UNAVAILABLE',
        `No control plane is running for ${dir}. Start one with \`slipway up\` (add --detach to run it in the background), or pass --control-plane <url>.`,
      );
    }
    return new ControlPlaneClient(found, environment);
  }

  /** The body of a successful response; a refused one throws the API's error. */
  async #ok<T>(request: Promise<ClientResponse<T>>): Promise<T> {
    const res = await request;
    if (res.ok) return (await res.json()) as T;
    const json = (await res.json().catch(() => ({}))) as { error?: ErrorJSON };
    throw errorFromJSON(
      json.error ?? { code: 'SLIPWAY_DAEMON_UNAVAILABLE', message: `HTTP ${res.status} from ${this.url}` },
      'SLIPWAY_DAEMON_UNAVAILABLE',
    );
  }

  health() {
    return this.#ok(this.api.api.health.$get());
  }

  status() {
    return this.#ok(this.api.api.status.$get());
  }

  deployments(query: { limit?: number; pipeline?: string } = {}) {
    return this.#ok(
      this.api.api.deployments.$get({
        query: {
          ...(query.limit === undefined ? {} : { limit: String(query.limit) }),
          ...(query.pipeline === undefined ? {} : { pipeline: query.pipeline }),
        },
      }),
    );
  }

  deployment(id: string, after = 0) {
    return this.#ok(this.api.api.deployments[':id'].$get({ param: { id }, query: { after: String(after) } }));
  }

  deploy(request: DeployRequest) {
    return this.#ok(this.api.api.deployments.$post({ json: request }));
  }

  /** Stops a pipeline for good in the environment and removes its release (refused while a deployment of it runs). */
  undeploy(pipeline: string) {
    return this.#ok(this.api.api.pipelines[':pipeline'].undeploy.$post({ param: { pipeline } }));
  }

  scale(pipeline: string, runners: number) {
    return this.#ok(this.api.api.pipelines[':pipeline'].scale.$post({ param: { pipeline }, json: { runners } }));
  }

  /** Replays dead letters of a pipeline through its live version (a recorded deployment), or only plans it (`dryRun`). */
  replayDeadLetters(pipeline: string, request: ReplayRequestBody = {}) {
    return this.#ok(this.api.api.pipelines[':pipeline']['dlq-replay'].$post({ param: { pipeline }, json: request }));
  }

  /** Rolls back the deployment in progress; with none, re-promotes the previously verified digest (a project's environment). */
  rollback(pipeline: string) {
    return this.#ok(this.api.api.rollback.$post({ json: { pipeline } }));
  }

  /** Promotes the digest verified upstream (or `digest`) into `to`: refused with `SLIPWAY_PROMOTION_REFUSED` and its reason. */
  promote(pipeline: string, to: string, digest?: string) {
    return this.#ok(
      this.api.api.promotions.$post({ json: { pipeline, to, ...(digest === undefined ? {} : { digest }) } }),
    );
  }

  /** Records an approval to promote a digest of a pipeline into an environment. */
  approve(approval: { pipeline: string; environment: string; by: string; digest?: string; note?: string }) {
    return this.#ok(this.api.api.approvals.$post({ json: approval }));
  }

  /** The pipelines × environments matrix of a project's control plane. */
  matrix() {
    return this.#ok(this.api.api.matrix.$get());
  }

  pipelineEvents(pipeline: string) {
    return this.#ok(this.api.api.pipelines[':pipeline'].events.$get({ param: { pipeline } }));
  }

  /** Records a test report (`slipway test`) where this control plane's release gate reads it. */
  putTestReport(report: TestReport) {
    return this.#ok(this.api.api['test-reports'].$post({ json: report }));
  }

  /** The dataset registry: every dataset version artifacts declared, what is released where, and the artifacts known. */
  datasets() {
    return this.#ok(this.api.api.datasets.$get());
  }

  /** Retires a major of a dataset; refused (`SLIPWAY_DATASET_IN_USE`) while a released pipeline reads or writes it. */
  retireDataset(name: string, major: number) {
    return this.#ok(this.api.api.datasets[':name'].retire.$post({ param: { name }, json: { major } }));
  }

  /** Whether the control plane's artifact store holds (an intact copy of) this digest. */
  async hasArtifact(digest: string): Promise<boolean> {
    try {
      await this.#ok(this.api.api.artifacts[':digest'].$get({ param: { digest } }));
      return true;
    } catch (err) {
      if (
        err instanceof SlipwayError &&
        (err.code === 'SLIPWAY_ARTIFACT_NOT_FOUND' || err.code === 'SLIPWAY_ARTIFACT_TAMPERED')
      )
        return false;
      throw err;
    }
  }

  /** Uploads an artifact built here; the control plane checks it against its digest and stores it. */
  uploadArtifact(manifest: ArtifactManifest, bundle: Uint8Array) {
    return this.#ok(
      this.api.api.artifacts.$post({
        json: {
          manifest: manifest as unknown as Record<string, unknown>,
          bundle: Buffer.from(bundle).toString('base64'),
        },
      }),
    );
  }

  shutdown() {
    return this.#ok(this.api.api.shutdown.$post());
  }
}
