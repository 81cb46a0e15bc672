import type { ControlStore } from '../deploy/control-store.js';
import type { DeployRequestOptions } from '../deploy/deploy-options.js';
import type { DeploymentRecord, Release } from '../deploy/deployment.js';
import { SlipwayError } from '../errors.js';
import type { SecretReference } from '../pipeline/secrets.js';
import { durationMs, type EnvironmentSpec, type ProjectSpec } from './project.js';

/** Why a promotion is refused: the `reason` of `SLIPWAY_PROMOTION_REFUSED`. */
export type PromotionRefusal =
  | 'no-upstream'
  | 'not-verified'
  | 'soaking'
  | 'approval-missing'
  | 'untested'
  | 'config-invalid'
  | 'no-previous';

export function refused(
  reason: PromotionRefusal,
  message: string,
  details: Record<string, unknown> = {},
): SlipwayError {
  return new SlipwayError('SLIPWAY_PROMOTION_REFUSED', message, { details: { reason, ...details } });
}

/** Runner exits and fencing: what makes a soak start again. */
const UNHEALTHY = new Set(['runner-exited', 'runner-fenced']);

/** How a digest of a pipeline fared in an environment: verified there (a deployment of it completed), since when, and how long it has been healthy. */
export interface Verification {
  environment: string;
  digest: string;
  /** The deployment that made it live and passed its gates. */
  deployment: DeploymentRecord;
  /** When it went live (the deployment's end). */
  liveSince: number;
  /** When another release replaced it, or null while it is live. */
  replacedAt: number | null;
  /** How long it has been live without a runner failing, ms. */
  healthyMs: number;
}

/**
 * Whether `digest` of `pipeline` was verified in `environment`: deployed there by a deployment that
 * completed (its gates passed), and how long it has been live and healthy since (the soak).
 */
export async function verification(
  store: ControlStore,
  pipeline: string,
  environment: string,
  digest: string,
  now = Date.now(),
): Promise<Verification | undefined> {
  const deployments = await store.listDeployments({ pipeline, environment, limit: 200 });
  const deployment = deployments.find((d) => d.artifact.digest === digest && d.status === 'completed');
  if (deployment === undefined) return undefined;
  const liveSince = deployment.updatedAt;
  const history = await store.releaseHistory(pipeline, environment, 200);
  // The first release of another digest after it went live ended its time there.
  const replaced = history
    .filter((r: Release) => r.updatedAt > liveSince && r.artifact.digest !== digest)
    .map((r) => r.updatedAt)
    .sort((a, b) => a - b)[0];
  const until = replaced ?? now;
  const events = await store.pipelineEvents({ pipeline, environment, limit: 1000 });
  const lastFailure = events
    .filter((e) => UNHEALTHY.has(e.kind) && e.at >= liveSince && e.at <= until)
    .reduce((max, e) => Math.max(max, e.at), liveSince);
  return {
    environment,
    digest,
    deployment,
    liveSince,
    replacedAt: replaced ?? null,
    healthyMs: Math.max(0, until - lastFailure),
  };
}

const human = (ms: number): string =>
  ms >= 3_600_000
    ? `${(ms / 3_600_000).toFixed(1)} h`
    : ms >= 60_000
      ? `${(ms / 60_000).toFixed(1)} min`
      : `${Math.ceil(ms / 1000)} s`;

export interface PromotionPlan {
  pipeline: string;
  from: string;
  to: string;
  digest: string;
  upstream: Verification;
  /** The approval that let it through, when the environment needs one. */
  approvedBy?: string;
}

/**
 * Checks that `digest` (default: what is live upstream) may be promoted into `to`: it was verified in
 * the environment `to` is promoted from, has soaked there long enough (healthy), and is approved when
 * `to` needs an approval. Throws `SLIPWAY_PROMOTION_REFUSED` with the reason; the test report and the
 * config are checked by the control plane before anything starts.
 */
export async function planPromotion(input: {
  store: ControlStore;
  project: ProjectSpec;
  pipeline: string;
  to: string;
  digest?: string;
  now?: number;
}): Promise<PromotionPlan> {
  const { store, project, pipeline, to } = input;
  const now = input.now ?? Date.now();
  const env = project.environments[to] as EnvironmentSpec;
  const from = env.promotion?.from;
  if (from === undefined) {
    throw refused(
      'no-upstream',
      `${to} is not promoted into from another environment (no promotion.from in slipway.config.ts): deploy to it with \`slipway deploy --env ${to}\`.`,
      { environment: to },
    );
  }
  let digest = input.digest;
  if (digest === undefined) {
    const live = await store.getRelease(pipeline, from);
    if (live === undefined)
      throw refused('not-verified', `${pipeline} has no live release in ${from} to promote into ${to}.`, {
        environment: from,
      });
    digest = live.artifact.digest;
  } else if (!digest.startsWith('sha256:')) {
    // A unique prefix, among the artifacts deployed upstream.
    const prefix = digest;
    const known = (await store.listDeployments({ pipeline, environment: from, limit: 200 }))
      .map((d) => d.artifact.digest)
      .filter((d, i, all) => all.indexOf(d) === i && (d.startsWith(`sha256:${prefix}`) || d.startsWith(prefix)));
    if (known.length === 1) digest = known[0] as string;
  }
  const short = digest.slice(0, 19);
  const upstream = await verification(store, pipeline, from, digest, now);
  if (upstream === undefined) {
    throw refused(
      'not-verified',
      `${pipeline} ${short} is not verified in ${from}: no deployment of it completed there (its gates must pass). Deploy or promote it to ${from} first.`,
      { digest, environment: from },
    );
  }
  const soak = durationMs(env.promotion?.soak, 0);
  if (upstream.healthyMs < soak) {
    throw refused(
      'soaking',
      `${pipeline} ${short} has been live and healthy in ${from} for ${human(upstream.healthyMs)}; ${to} needs a soak of ${human(soak)} (${human(soak - upstream.healthyMs)} to go${upstream.replacedAt === null ? '' : ', but it is no longer live there'}).`,
      { digest, environment: from, healthyMs: upstream.healthyMs, soakMs: soak },
    );
  }
  let approvedBy: string | undefined;
  if (env.promotion?.approval === true) {
    const approval = (await store.approvals(pipeline, to, digest))[0];
    if (approval === undefined) {
      throw refused(
        'approval-missing',
        `Promoting ${pipeline} ${short} into ${to} needs an approval: \`slipway approve ${pipeline} --env ${to} --digest ${short}\`.`,
        { digest, environment: to },
      );
    }
    approvedBy = approval.by;
  }
  return { pipeline, from, to, digest, upstream, ...(approvedBy === undefined ? {} : { approvedBy }) };
}

/**
 * What a deployment into an environment runs with when the request leaves it out: the environment's
 * declared config of the pipeline, and its policy (strategy, shadow, bake, gates, canary).
 */
export function environmentDeployOptions(
  env: EnvironmentSpec,
  pipeline: string,
  request: DeployRequestOptions,
): DeployRequestOptions {
  const declared = env.pipelines?.[pipeline];
  const policy = env.policy ?? {};
  return {
    ...(policy.strategy === undefined ? {} : { strategy: policy.strategy }),
    ...(policy.shadow === undefined ? {} : { shadow: policy.shadow }),
    ...(policy.bake === undefined ? {} : { bakeMs: durationMs(policy.bake) }),
    ...(policy.gates === undefined ? {} : { gates: policy.gates }),
    ...(policy.canary === undefined ? {} : { canary: policy.canary }),
    ...(declared?.config === undefined ? {} : { config: declared.config }),
    ...request,
  };
}

/** The secrets of a pipeline in an environment, file references made absolute against the project folder. */
export function environmentSecrets(
  env: EnvironmentSpec,
  pipeline: string,
  projectDir: string,
  resolvePath: (dir: string, file: string) => string,
): Record<string, SecretReference> | undefined {
  const declared = env.pipelines?.[pipeline]?.secrets;
  if (declared === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(declared).map(([name, ref]) => [
      name,
      'file' in ref ? { file: resolvePath(projectDir, ref.file) } : { env: ref.env },
    ]),
  );
}
