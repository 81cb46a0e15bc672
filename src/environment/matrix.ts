import type { ControlStore } from '../deploy/control-store.js';
import { durationMs, type ProjectSpec } from './project.js';
import { verification } from './promotion.js';

/** Where a pipeline stands in one environment. */
export type CellState = 'verified' | 'soaking' | 'deploying' | 'failed' | 'live';

/** One cell of `slipway status`'s matrix: a pipeline in an environment. */
export interface MatrixCell {
  pipeline: string;
  environment: string;
  /** What is live there (null before the first release). */
  digest: string | null;
  version: string | null;
  /** When it went live, ms since the epoch. */
  since: number | null;
  state: CellState;
  /** Healthy time so far and the soak the next environment needs, when soaking. */
  healthyMs?: number;
  soakMs?: number;
  /** The deployment in progress, or the one that failed. */
  deployment?: { id: string; digest: string; version: string; status: string };
}

export interface EnvironmentMatrix {
  /** In promotion order. */
  environments: string[];
  pipelines: string[];
  cells: MatrixCell[];
}

/** The longest soak any environment promoted from `env` asks for. */
function soakAfter(project: ProjectSpec, env: string): number {
  let soak = 0;
  for (const e of Object.values(project.environments))
    if (e.promotion?.from === env) soak = Math.max(soak, durationMs(e.promotion.soak, 0));
  return soak;
}

/**
 * The pipelines × environments matrix: in each environment, the digest and version live, since when,
 * and whether it is verified (its deployment completed and it soaked as long as the next environment
 * asks), soaking, deploying, or whether its latest deployment failed.
 */
export async function environmentMatrix(
  store: ControlStore,
  project: ProjectSpec,
  environments: string[],
  now = Date.now(),
): Promise<EnvironmentMatrix> {
  const pipelines = new Set<string>();
  for (const env of environments) for (const r of await store.listReleases(env)) pipelines.add(r.pipeline);
  for (const env of environments) for (const d of await store.activeDeployments(env)) pipelines.add(d.pipeline);
  const cells: MatrixCell[] = [];
  for (const pipeline of [...pipelines].sort()) {
    for (const environment of environments) {
      const release = await store.getRelease(pipeline, environment);
      const latest = (await store.listDeployments({ pipeline, environment, limit: 1 }))[0];
      const cell: MatrixCell = {
        pipeline,
        environment,
        digest: release?.artifact.digest ?? null,
        version: release?.artifact.version ?? null,
        since: release?.updatedAt ?? null,
        state: 'live',
      };
      if (latest !== undefined && latest.status !== 'completed') {
        cell.deployment = {
          id: latest.id,
          digest: latest.artifact.digest,
          version: latest.artifact.version,
          status: latest.status,
        };
        cell.state = latest.status === 'running' ? 'deploying' : 'failed';
      } else if (release !== undefined) {
        const v = await verification(store, pipeline, environment, release.artifact.digest, now);
        const soak = soakAfter(project, environment);
        if (v !== undefined) {
          cell.since = v.liveSince;
          cell.state = v.healthyMs >= soak ? 'verified' : 'soaking';
          if (cell.state === 'soaking') {
            cell.healthyMs = v.healthyMs;
            cell.soakMs = soak;
          }
        }
      }
      if (release !== undefined || cell.deployment !== undefined) cells.push(cell);
    }
  }
  return { environments, pipelines: [...pipelines].sort(), cells };
}
