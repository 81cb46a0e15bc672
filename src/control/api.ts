import { getConnInfo } from '@hono/node-server/conninfo';
import { tbValidator } from '@hono/typebox-validator';
import type { TSchema } from '@sinclair/typebox';
import type { ValueError } from '@sinclair/typebox/value';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { parseManifest } from '../artifact/manifest.js';
import { retireDatasetMajor } from '../deploy/dataset-registry.js';
import { DeployRequestSchema } from '../deploy/deploy-options.js';
import { ReplayRequestSchema } from '../deploy/replay-options.js';
import { errorToJSON, isSlipwayError, SlipwayError } from '../errors.js';
import { readToggleHistory, setToggle } from '../toggles/toggle-log.js';
import type { ToggleSetting } from '../toggles/toggle-setting.js';
import {
  ApprovalRequestSchema,
  ArtifactUploadSchema,
  DeploymentsQuerySchema,
  EventsQuerySchema,
  PromotionRequestSchema,
  RetireRequestSchema,
  RollbackRequestSchema,
  ScaleRequestSchema,
  TestReportSchema,
  ToggleChangeRequestSchema,
} from './api-schemas.js';
import type { ControlPlane } from './control-plane.js';
import { PROMETHEUS_CONTENT_TYPE, runnerMetricsText } from './runner-metrics.js';
import { controlStatus } from './status.js';

const STATUS_BY_CODE: Record<string, ContentfulStatusCode> = {
  SLIPWAY_USAGE: 400,
  SLIPWAY_INVALID_CONFIG: 400,
  SLIPWAY_FORBIDDEN: 403,
  SLIPWAY_UNKNOWN_ENVIRONMENT: 404,
  SLIPWAY_PROMOTION_REFUSED: 409,
  SLIPWAY_DEPLOYMENT_NOT_FOUND: 404,
  SLIPWAY_ARTIFACT_NOT_FOUND: 404,
  SLIPWAY_ARTIFACT_TAMPERED: 409,
  SLIPWAY_ARTIFACT_AMBIGUOUS: 409,
  SLIPWAY_DEPLOY_REFUSED: 409,
  SLIPWAY_RELEASE_GATE: 409,
  SLIPWAY_NOTHING_TO_REPLAY: 409,
  SLIPWAY_READER_INCOMPATIBLE: 409,
  SLIPWAY_VERSION_NOT_BUMPED: 409,
  SLIPWAY_WRONG_BUMP: 409,
  SLIPWAY_DATASET_IN_USE: 409,
  SLIPWAY_DATASET_NOT_FOUND: 404,
  SLIPWAY_INVALID_TOGGLE: 400,
};

/**
 * The API's one way of answering with an error: `{ error: ErrorJSON }` (code, message, retryable flag,
 * details) with a status by code, which `ControlPlaneClient` turns back into the same SlipwayError.
 */
export function errorResponse(err: Error, c: Context): Response {
  if (isSlipwayError(err)) return c.json({ error: errorToJSON(err) }, STATUS_BY_CODE[err.code] ?? 500);
  if (err instanceof HTTPException) {
    return c.json(
      { error: { code: 'SLIPWAY_USAGE', message: `Invalid request: ${err.message}.`, retryable: false } },
      err.status === 413 ? 413 : 400,
    );
  }
  return c.json({ error: { code: 'SLIPWAY_INTERNAL', message: err.message, retryable: false } }, 500);
}

/** A request body that does not match its schema: the first error, with the path of the bad field. */
function invalid(what: string, errors: ValueError[]): SlipwayError {
  const first = errors[0];
  const field = first?.path === '' || first === undefined ? '(body)' : first.path;
  return new SlipwayError(
    'SLIPWAY_USAGE',
    `Invalid ${what}: ${field} ${first?.message.toLowerCase() ?? 'is invalid'}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}.`,
    { details: { field, errors: errors.slice(0, 10).map((e) => ({ path: e.path, message: e.message })) } },
  );
}

/** Validates a JSON body against a schema; a bad one is refused with `SLIPWAY_USAGE` naming the field. */
const body = <T extends TSchema>(schema: T, what: string) =>
  tbValidator('json', schema, (result) => {
    if (!result.success) throw invalid(what, result.errors);
  });

/** Validates a query string against a schema, like `body`. */
const query = <T extends TSchema>(schema: T) =>
  tbValidator('query', schema, (result) => {
    if (!result.success) throw invalid('query', result.errors);
  });

/** Loopback addresses: the only ones allowed to change anything until tokens and roles exist. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return a === '::1' || /^127\.\d+\.\d+\.\d+$/.test(a);
}

/** A source file path, which the daemon never imports: it deploys artifacts only. */
const looksLikeFile = (ref: string): boolean => /\.(m?[jt]s|c[jt]s|tsx?|jsx?)$/.test(ref) || ref.includes('/');

export interface ApiOptions {
  onShutdown?: () => void;
}

/** The header (or `?env=` query) naming the environment a request is for; the client sets it from `--env`. */
export const ENVIRONMENT_HEADER = 'x-slipway-environment';

/** The environment a request names, if any. */
const envOf = (c: Context): string | undefined => c.req.header(ENVIRONMENT_HEADER) ?? c.req.query('env') ?? undefined;

/**
 * The control plane's HTTP API, which the CLI (through `ControlPlaneClient`) and the dashboard use.
 * Bodies are validated against the same schemas the controller's options are typed by. Every request
 * that changes something (POST) is refused unless it comes from a loopback address: until the API has
 * tokens and roles, only this machine may deploy, roll back, record test reports or shut it down.
 * The daemon never imports code named in a request: it deploys artifacts by digest, which the CLI
 * builds (and uploads, `POST /api/artifacts`, when the daemon does not have them).
 */
export function createApi(plane: ControlPlane, options: ApiOptions = {}) {
  const controllerOf = (c: Context) => plane.controller(envOf(c));
  const app = new Hono();
  app.onError(errorResponse);
  app.use('/api/*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const remote = getConnInfo(c).remote.address;
      if (!isLoopback(remote)) {
        throw new SlipwayError(
          'SLIPWAY_FORBIDDEN',
          `${c.req.method} ${c.req.path} is refused from ${remote ?? 'an unknown address'}: this control plane accepts changes only from its own machine (loopback) until the API has tokens and roles. Run the command on the control plane's machine.`,
          { details: { remote: remote ?? null } },
        );
      }
    }
    await next();
  });

  // Prometheus scrapes every runner of every environment the plane serves here, in one job. Read-only,
  // so any address may (like GET /api/*).
  app.get('/metrics', async (c) =>
    c.body(await runnerMetricsText(plane.controllers), 200, {
      'content-type': PROMETHEUS_CONTENT_TYPE,
    }),
  );

  const routes = app
    .get('/api/health', (c) => {
      const named = envOf(c);
      const controller = plane.controller(named ?? plane.environments[0]);
      return c.json({
        ok: true as const,
        pid: process.pid,
        environment: controller.environment,
        environments: plane.environments,
        project: plane.project?.dir ?? null,
        supervisor: controller.supervisor.kind,
        artifactsDir: plane.artifacts.dir,
      });
    })
    .get('/api/status', async (c) => c.json(await controlStatus(controllerOf(c))))
    .get('/api/matrix', async (c) => c.json(await plane.matrix()))
    .get('/api/deployments', query(DeploymentsQuerySchema), async (c) => {
      const { limit: given, pipeline } = c.req.valid('query');
      const limit = Number(given ?? 20);
      // One environment's, or every environment's when several are served and none is named.
      const named = envOf(c);
      const environment =
        named === undefined && plane.environments.length > 1 ? undefined : plane.controller(named).environment;
      return c.json(
        await plane.store.listDeployments({
          limit: Number.isInteger(limit) && limit > 0 ? limit : 20,
          ...(environment === undefined ? {} : { environment }),
          ...(pipeline ? { pipeline } : {}),
        }),
      );
    })
    .get('/api/deployments/:id', query(EventsQuerySchema), async (c) => {
      const record = await plane.store.getDeployment(c.req.param('id'));
      if (record === undefined)
        throw new SlipwayError(
          'SLIPWAY_DEPLOYMENT_NOT_FOUND',
          `No deployment '${c.req.param('id')}'. \`slipway history\` lists them.`,
        );
      const after = Number(c.req.valid('query').after ?? 0);
      return c.json({ deployment: record, events: await plane.store.events(record.id, after) });
    })
    .get('/api/pipelines/:pipeline/events', async (c) =>
      c.json(
        await plane.store.pipelineEvents({
          pipeline: c.req.param('pipeline'),
          environment: controllerOf(c).environment,
        }),
      ),
    )
    .get('/api/datasets', async (c) =>
      c.json({
        versions: await plane.store.datasetVersions(),
        releases: await plane.store.listReleases(),
        artifacts: await plane.store.listArtifacts(),
      }),
    )
    .post('/api/datasets/:name/retire', body(RetireRequestSchema, 'retire request'), async (c) => {
      const { major } = c.req.valid('json');
      await retireDatasetMajor(plane.store, c.req.param('name'), major);
      return c.json({ dataset: c.req.param('name'), major, retired: true as const });
    })
    .get('/api/artifacts/:digest', async (c) => {
      const found = await plane.artifacts.verify(c.req.param('digest'));
      return c.json({ digest: found.digest, pipeline: found.manifest.name, version: found.manifest.version });
    })
    .post(
      '/api/artifacts',
      bodyLimit({ maxSize: 64 * 1024 * 1024 }),
      body(ArtifactUploadSchema, 'artifact upload'),
      async (c) => {
        const { manifest, bundle } = c.req.valid('json');
        // The manifest's shape, then its digest and the bundle's bytes are checked by the store; the
        // code is never loaded here (runners load it).
        const parsed = parseManifest(JSON.stringify(manifest), 'the uploaded manifest');
        const put = await plane.artifacts.put({ bundle: Buffer.from(bundle, 'base64'), manifest: parsed });
        return c.json({ digest: put.digest, created: put.created }, 201);
      },
    )
    .post('/api/deployments', body(DeployRequestSchema, 'deploy request'), async (c) => {
      const { artifact: ref, allowUntested, ...request } = c.req.valid('json');
      if (looksLikeFile(ref) && !/^(sha256:)?[0-9a-f]{7,64}$/.test(ref)) {
        throw new SlipwayError(
          'SLIPWAY_DEPLOY_REFUSED',
          `'${ref}' is a file, not an artifact digest: the control plane runs built artifacts only and never imports source files. Build it first (\`slipway build ${ref}\`, or \`slipway deploy ${ref}\`, which builds and uploads it) and deploy the digest.`,
          { details: { artifact: ref } },
        );
      }
      return c.json(
        await plane.deploy(envOf(c), ref, { ...request, ...(allowUntested === undefined ? {} : { allowUntested }) }),
        201,
      );
    })
    .post('/api/promotions', body(PromotionRequestSchema, 'promotion request'), async (c) => {
      const { pipeline, to, digest } = c.req.valid('json');
      return c.json(await plane.promote(pipeline, to, digest), 201);
    })
    .post('/api/approvals', body(ApprovalRequestSchema, 'approval'), async (c) => {
      const request = c.req.valid('json');
      return c.json(
        await plane.approve({
          pipeline: request.pipeline,
          environment: request.environment,
          by: request.by,
          ...(request.digest === undefined ? {} : { digest: request.digest }),
          ...(request.note === undefined ? {} : { note: request.note }),
        }),
        201,
      );
    })
    .post('/api/pipelines/:pipeline/undeploy', async (c) => {
      const release = await controllerOf(c).undeploy(c.req.param('pipeline'));
      return c.json({ pipeline: release.pipeline, environment: release.environment, artifact: release.artifact });
    })
    .post('/api/pipelines/:pipeline/scale', body(ScaleRequestSchema, 'scale request'), async (c) =>
      c.json(await controllerOf(c).scale(c.req.param('pipeline'), c.req.valid('json').runners), 202),
    )
    .post('/api/pipelines/:pipeline/dlq-replay', body(ReplayRequestSchema, 'replay request'), async (c) => {
      const replay = await controllerOf(c).replayDeadLetters(c.req.param('pipeline'), c.req.valid('json'));
      return c.json(replay, replay.deployment === null ? 200 : 202);
    })
    .post('/api/rollback', body(RollbackRequestSchema, 'rollback request'), async (c) => {
      const { pipeline } = c.req.valid('json');
      return c.json(await plane.rollback(envOf(c), pipeline));
    })
    .post('/api/test-reports', body(TestReportSchema, 'test report'), async (c) => {
      const report = c.req.valid('json');
      // A report that passes lets a digest through the release gate: it must not list failing tests.
      if (report.passed && (report.failures.length > 0 || Object.values(report.layers).some((l) => l.failed > 0)))
        throw new SlipwayError('SLIPWAY_USAGE', 'Invalid test report: /passed cannot be true when tests failed.', {
          details: { field: '/passed' },
        });
      await plane.store.putTestReport(report);
      return c.json({ digest: report.digest, passed: report.passed }, 201);
    })
    // Toggles of the environment (the header or ?env= names it), on its log: every change with who and when.
    .get('/api/toggles', async (c) => c.json({ changes: await readToggleHistory(controllerOf(c).log) }))
    .post('/api/toggles/:name', body(ToggleChangeRequestSchema, 'toggle change'), async (c) => {
      const { setting, by, reason } = c.req.valid('json');
      // The setting's shape is checked by setToggle (SLIPWAY_INVALID_TOGGLE naming the field); the time is ours.
      const change = await setToggle(controllerOf(c).log, {
        toggle: c.req.param('name'),
        setting: setting as ToggleSetting | null,
        by,
        ...(reason === undefined ? {} : { reason }),
      });
      return c.json({ environment: controllerOf(c).environment, change }, 201);
    })
    .post('/api/shutdown', (c) => {
      setImmediate(() => options.onShutdown?.());
      return c.json({ ok: true as const });
    });
  return routes;
}

/** The API's routes, typed: what `ControlPlaneClient` is built on. */
export type ControlApi = ReturnType<typeof createApi>;
