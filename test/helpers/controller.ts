import { join } from 'node:path';
import {
  ArtifactStore,
  ChildProcessSupervisor,
  Controller,
  type ControlStore,
  InProcessSupervisor,
  type LogConfig,
  openSqliteControlStore,
} from 'slipway';
import { buildVersions, type Versions } from './versions.js';

export interface TestController {
  controller: Controller;
  store: ControlStore;
  artifacts: ArtifactStore;
  versions: Versions;
  close(): Promise<void>;
}

/**
 * A controller over a control store and an artifact store in `dir` (the example's three versions
 * built into it), on `log` (default: the embedded log `<dir>/log.db`). Runners run in-process unless
 * the test needs them as processes (a SIGKILL is only a real crash for a process).
 */
export async function startTestController(
  dir: string,
  options: {
    log?: LogConfig;
    supervisor?: 'in-process' | 'child-process';
    environment?: string;
    /** Build the copies of the versions under this run's names (see buildVersions). */
    isolated?: boolean;
    /** The control store's file name in `dir` (default control.db). */
    controlFile?: string;
  } = {},
): Promise<TestController> {
  const artifactsDir = join(dir, 'artifacts');
  const versions = await buildVersions(artifactsDir, options.isolated === true);
  const store = await openSqliteControlStore({ path: join(dir, options.controlFile ?? 'control.db') });
  const artifacts = new ArtifactStore({ dir: artifactsDir });
  const supervisor =
    options.supervisor === 'child-process'
      ? new ChildProcessSupervisor({ artifactsDir })
      : new InProcessSupervisor({ artifactsDir });
  const controller = new Controller({
    store,
    supervisor,
    artifacts,
    log: options.log ?? { engine: 'embedded', path: join(dir, 'log.db') },
    ...(options.environment === undefined ? {} : { environment: options.environment }),
  });
  await controller.start();
  return {
    controller,
    store,
    artifacts,
    versions,
    close: async () => {
      await controller.close();
      await store.close();
    },
  };
}
