import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '../artifact/artifact-store.js';
import { buildArtifact } from '../artifact/build-artifact.js';
import { ControlPlaneClient } from '../control/client.js';
import { daemonPaths, startDaemon } from '../control/daemon.js';
import type { ControlStore } from '../deploy/control-store.js';
import type { DeployRequestOptions } from '../deploy/deploy-options.js';
import { type DeploymentEvent, type DeploymentRecord, TERMINAL_STATUSES } from '../deploy/deployment.js';
import { SlipwayError } from '../errors.js';
import { openEmbeddedLog } from '../log/embedded/embedded-log.js';
import type { Log } from '../log/log.js';

/** What a deploy request may carry (the body of POST /api/deployments, minus the artifact). */
export interface LocalDeployOptions extends DeployRequestOptions {
  /** Skip the release gate (accepted by a `local` control plane only). */
  allowUntested?: boolean;
  /** Wait for the deployment to end (default true); false returns once it has started. */
  wait?: boolean;
  /** Longest wait for the end, ms (default 120,000). */
  timeoutMs?: number;
}

export interface LocalControlPlane {
  url: string;
  client: ControlPlaneClient;
  /** The controller's store: deployments, releases, test reports. */
  store: ControlStore;
  dir: string;
  logPath: string;
  artifactsDir: string;
  /** Builds a pipeline module into this control plane's artifact store; returns the digest. */
  build(entry: string, options?: { cwd?: string; pipeline?: string }): Promise<string>;
  /** Deploys through the HTTP API, as `slipway deploy` does, and (by default) waits for the end. */
  deploy(
    artifact: string,
    options?: LocalDeployOptions,
  ): Promise<{ deployment: DeploymentRecord; events: DeploymentEvent[] }>;
  /** The embedded log the runners use, opened once in this process (closed by `close()`). */
  openLog(): Promise<Log>;
  /** Stops the control plane (runners commit and stop) and removes the folder if it was made here. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a real control plane (controller, supervised runner processes, HTTP API on 127.0.0.1) in an
 * isolated folder, for end-to-end tests. Without `dir`, a temp folder is made and removed on `close()`.
 *
 * @example
 * const cp = await startLocalControlPlane()
 * const digest = await cp.build('pipeline.ts', { cwd: projectDir })
 * const { deployment } = await cp.deploy(digest, { allowUntested: true, bakeMs: 0 })
 * await cp.close()
 */
export async function startLocalControlPlane(
  options: { dir?: string; environment?: string } = {},
): Promise<LocalControlPlane> {
  const owned = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'slipway-cp-')));
  const paths = daemonPaths(dir);
  const daemon = await startDaemon({
    paths,
    ...(options.environment === undefined ? {} : { environment: options.environment }),
  }).catch(async (err: unknown) => {
    if (owned) await rm(dir, { recursive: true, force: true });
    throw err;
  });
  const client = new ControlPlaneClient(daemon.url);
  let log: Promise<Log> | undefined;
  let closing: Promise<void> | undefined;
  return {
    url: daemon.url,
    client,
    store: daemon.controller.store,
    dir: paths.dir,
    logPath: paths.logPath,
    artifactsDir: paths.artifactsDir,
    async build(entry, buildOptions = {}) {
      const result = await buildArtifact({
        entry,
        store: new ArtifactStore({ dir: paths.artifactsDir }),
        ...(buildOptions.cwd === undefined ? {} : { cwd: buildOptions.cwd }),
        ...(buildOptions.pipeline === undefined ? {} : { pipeline: buildOptions.pipeline }),
      });
      return result.digest;
    },
    async deploy(artifact, deployOptions = {}) {
      const { wait = true, timeoutMs = 120_000, ...body } = deployOptions;
      const started = await client.deploy({ artifact, ...body });
      if (!wait) return client.deployment(started.id);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = await client.deployment(started.id);
        if ((TERMINAL_STATUSES as readonly string[]).includes(found.deployment.status)) return found;
        if (Date.now() > deadline) {
          throw new SlipwayError(
            'SLIPWAY_INTERRUPTED',
            `Deployment ${started.id} did not end within ${timeoutMs} ms (at step ${found.deployment.step}); raise timeoutMs or look at its events.`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    openLog() {
      log ??= openEmbeddedLog({ path: paths.logPath });
      return log;
    },
    close() {
      closing ??= (async () => {
        try {
          await daemon.close();
        } finally {
          if (log !== undefined) await (await log).close();
          if (owned) await rm(dir, { recursive: true, force: true });
        }
      })();
      return closing;
    },
  };
}
