import { dirname } from 'node:path';
import type { Project } from '../environment/project.js';
import { SlipwayError } from '../errors.js';
import { findProjectFile, loadModule } from './load-module.js';

/** A loaded project: its environments as code, the folder they are relative to, and the file. */
export interface LoadedProject {
  project: Project;
  /** The project folder (the project file's): embedded logs and `.slipway` are relative to it. */
  dir: string;
  path: string;
}

/**
 * Loads the project file (the one named, else `$SLIPWAY_PROJECT`, else `slipway.config.ts` here) and
 * returns the project it declares with `defineProject`, or refuses with a coded error saying what to add.
 */
export async function loadProjectFile(named?: string): Promise<LoadedProject> {
  const fromEnv = process.env.SLIPWAY_PROJECT;
  const file = findProjectFile(named ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv));
  const module = await loadModule(file);
  if (module.project === undefined) {
    throw new SlipwayError(
      'SLIPWAY_NOT_EXPORTED',
      `${module.path} declares no environments: export one project made with defineProject({ environments: { … } }) (see the README, "Environments").`,
      { details: { path: module.path } },
    );
  }
  return { project: module.project, dir: dirname(module.path), path: module.path };
}
