import type { PipelineDescription } from '../artifact/manifest.js';
import { SlipwayError } from '../errors.js';
import { resolveConfig } from '../pipeline/config.js';
import { configChanges } from './config-changes.js';
import type { DeployOptions, DeployRequestOptions } from './deploy-options.js';
import type { ConfigChange, Release } from './deployment.js';
import { plannedStateChange, type StateChange } from './state-change.js';

/** What a deployment will do, decided before anything starts. */
export interface DeployPlan {
  options: DeployOptions;
  configFrom: 'request' | 'live' | 'defaults';
  /** The config fields the runners will see change. */
  changes: ConfigChange[];
  stateChange: StateChange | undefined;
}

/**
 * Checks a deploy request against what is live and plans it: refused with `SLIPWAY_DEPLOY_REFUSED` (a canary
 * with nothing live, or over several runners), `SLIPWAY_INVALID_CONFIG` naming the field, or a state
 * layout change that cannot be made (see `plannedStateChange`).
 */
export function planDeploy(input: {
  environment: string;
  manifest: PipelineDescription;
  release: Release | undefined;
  previous: PipelineDescription | undefined;
  request: DeployRequestOptions & Pick<DeployOptions, 'untested' | 'promotion'>;
}): DeployPlan {
  const { environment, manifest, release, previous, request } = input;
  const pipeline = manifest.name;
  const strategy = request.strategy ?? 'blue-green';
  if (strategy === 'canary' && (release?.runners ?? 1) > 1) {
    throw new SlipwayError(
      'SLIPWAY_DEPLOY_REFUSED',
      `${pipeline} runs as ${release?.runners} runners; a canary splits keys between one blue and one green runner. Scale it to 1 (slipway scale ${pipeline} 1), or deploy with blue-green (green starts as ${release?.runners} runners).`,
    );
  }
  if (release === undefined && strategy === 'canary') {
    throw new SlipwayError(
      'SLIPWAY_DEPLOY_REFUSED',
      `${pipeline} has no live version in ${environment} to split keys with: deploy its first version with blue-green (the default) or recreate, then canary the next ones.`,
    );
  }
  const stateChange = plannedStateChange(previous, manifest, {
    strategy,
    ...(request.irreversibleState === undefined ? {} : { irreversibleState: request.irreversibleState }),
  });
  // The config as given is what is kept and carried forward (the new version's own defaults apply to
  // what it leaves out); it is checked against the new artifact's schema before anything starts, and
  // what the runners will see change is listed from the resolved configs of both versions.
  const configFrom = request.config !== undefined ? 'request' : release !== undefined ? 'live' : 'defaults';
  const config = request.config !== undefined ? request.config : release?.config;
  const resolved = resolveConfig(manifest.configSchema, manifest.name, config);
  let changes: ConfigChange[] = [];
  if (release !== undefined && previous !== undefined) {
    let before: unknown;
    try {
      before = resolveConfig(previous.configSchema, previous.name, release.config);
    } catch {
      before = release.config;
    }
    changes = configChanges(before, resolved);
  }
  const options: DeployOptions = {
    ...request,
    strategy,
    ...(config === undefined ? {} : { config }),
    configFrom,
    ...(release === undefined ? {} : { previousConfig: release.config }),
  };
  return { options, configFrom, changes, stateChange };
}
