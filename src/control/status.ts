import type { PipelineEvent, RunnerRecord } from '../deploy/control-store.js';
import type { Controller } from '../deploy/controller.js';
import type { ArtifactRef, DeploymentRecord, Release } from '../deploy/deployment.js';
import type { RunnerStats } from '../supervisor/supervisor.js';

/** One pipeline's live runner as `slipway status` shows it. */
export interface LiveStatus {
  pipeline: string;
  runner: string;
  pid: number | null;
  /** How many runner processes run it. */
  runners: number;
  /** Each runner's id and state (one line per process). */
  members: Array<{ id: string; pid: number | null; state: string }>;
  artifact: ArtifactRef;
  state: string;
  stats: RunnerStats | null;
  /** Set while the live runner is fenced by another writer: since when (ms since the epoch). */
  fencedSince: number | null;
  recoveredAt: number | null;
}

export interface ControlStatus {
  environment: string;
  releases: Release[];
  runners: LiveStatus[];
  active: DeploymentRecord[];
  /** Heartbeats recorded in the control store. */
  heartbeats: RunnerRecord[];
  /** What happened to the runners lately (restarts, fencing), newest last. */
  events: PipelineEvent[];
}

/** What is live in the controller's environment, its runners and their figures, and what is deploying. */
export async function controlStatus(controller: Controller): Promise<ControlStatus> {
  const releases = await controller.store.listReleases(controller.environment);
  const runners = await Promise.all(
    controller.liveRunners().map(async (live): Promise<LiveStatus> => {
      const { runner } = live;
      const members = 'members' in runner ? (runner.members as (typeof runner)[]) : [runner];
      return {
        pipeline: live.pipeline,
        runner: runner.spec.id,
        pid: runner.pid ?? null,
        runners: runner.size,
        members: members.map((m) => ({ id: m.spec.id, pid: m.pid ?? null, state: m.state })),
        artifact: live.artifact,
        state: runner.state,
        stats: await runner.stats().catch(() => null),
        fencedSince: live.fencedAt ?? null,
        recoveredAt: live.recoveredAt ?? null,
      };
    }),
  );
  return {
    environment: controller.environment,
    releases,
    runners,
    active: await controller.store.activeDeployments(controller.environment),
    heartbeats: await controller.store.runners({ environment: controller.environment }),
    events: await controller.store.pipelineEvents({ environment: controller.environment, limit: 20 }),
  };
}
