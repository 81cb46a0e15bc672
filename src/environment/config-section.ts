/**
 * Config drift in an environment's plan: what each live release runs with against the config the environment
 * declares for its pipeline. A drift is not applied here: the fix is a deployment with the declared config (a
 * recorded, verified handoff), whose command the change carries.
 */
import { configChanges } from '../deploy/config-changes.js';
import type { PlanChange, PlanSection, SectionPlan } from './env-plan.js';
import type { EnvironmentSpec } from './project.js';

/** What a live release runs, as the control plane reports it. */
export interface LiveRelease {
  pipeline: string;
  environment: string;
  artifact: { digest: string; version?: string };
  config: unknown;
}

/** Shell-quotes a JSON value for the fix command. */
function quoted(value: unknown): string {
  return `'${JSON.stringify(value).replaceAll("'", "'\\''")}'`;
}

/**
 * The config section. `releases` gives the live releases of the environment (from its control plane), or a
 * reason why they cannot be known (no control plane running), which the plan shows instead of "no drift".
 *
 * @example
 * configSection('staging', env.spec, async () => (await client.status()).releases)
 */
export function configSection(
  environment: string,
  spec: EnvironmentSpec,
  releases: () => Promise<ReadonlyArray<LiveRelease> | { skipped: string }>,
): PlanSection {
  const plan = async (): Promise<SectionPlan> => {
    const live = await releases();
    if (!Array.isArray(live))
      return { section: 'config', changes: [], unchanged: 0, skipped: (live as { skipped: string }).skipped };
    const changes: PlanChange[] = [];
    let unchanged = 0;
    for (const r of (live as ReadonlyArray<LiveRelease>).filter((x) => x.environment === environment)) {
      // A pipeline whose config the environment does not declare is configured at deploy time: nothing to compare.
      const declared = spec.pipelines?.[r.pipeline]?.config;
      if (declared === undefined) continue;
      const diff = configChanges(r.config ?? {}, declared);
      if (diff.length === 0) {
        unchanged++;
        continue;
      }
      changes.push({
        section: 'config',
        action: 'update',
        target: `pipeline ${r.pipeline}`,
        fields: diff.map((d) => ({
          field: `config${d.path}`,
          ...('from' in d ? { from: d.from } : {}),
          ...('to' in d ? { to: d.to } : {}),
        })),
        destructive: false,
        applicable: false,
        fix: `slipway deploy ${r.artifact.digest} --env ${environment} --config ${quoted(declared)}`,
        note: `live ${r.artifact.version === undefined ? '' : `${r.artifact.version} `}runs with another config than the environment declares`,
      });
    }
    return { section: 'config', changes, unchanged };
  };
  return { name: 'config', plan };
}
