import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { Hono } from 'hono';
import type { Controller } from '../deploy/controller.js';
import { canarySteps } from '../deploy/strategies/canary.js';
import { isSlipwayError, SlipwayError } from '../errors.js';
import type { DeployOptions, TestFailure, TestLayer, TestLayerResult, TestReport } from './control-store.js';
import { checkReleaseGate } from './release-gate.js';
import { resolveArtifact } from './resolve-artifact.js';

const STRATEGIES = ['blue-green', 'canary', 'recreate'] as const;

/** Checks a deploy request body once, at the boundary, naming the bad field. */
export function parseDeployBody(body: unknown): {
  artifact: string;
  pipeline?: string;
  allowUntested: boolean;
  options: DeployOptions;
} {
  const bad = (field: string, message: string): never => {
    throw new SlipwayError('SLIPWAY_USAGE', `Invalid deploy request: ${field} ${message}.`, { details: { field } });
  };
  if (typeof body !== 'object' || body === null) return bad('(body)', 'must be a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.artifact !== 'string' || b.artifact === '')
    bad('artifact', 'must name an artifact digest or a pipeline file');
  const strategy = b.strategy ?? 'blue-green';
  if (!STRATEGIES.includes(strategy as (typeof STRATEGIES)[number]))
    bad('strategy', `must be one of ${STRATEGIES.join(', ')}`);
  const options: DeployOptions = { strategy: strategy as DeployOptions['strategy'] };
  if (b.config !== undefined) options.config = b.config;
  if (b.shadow !== undefined) {
    const s = b.shadow as { records?: unknown; timeoutMs?: unknown; samples?: unknown };
    if (typeof s !== 'object' || s === null || !Number.isInteger(s.records) || (s.records as number) < 1)
      bad('shadow.records', 'must be a whole number ≥ 1');
    if (s.samples !== undefined && (typeof s.samples !== 'string' || !isAbsolute(s.samples) || !existsSync(s.samples)))
      bad('shadow.samples', 'must be the absolute path of an existing samples folder');
    options.shadow = {
      records: s.records as number,
      ...(typeof s.timeoutMs === 'number' ? { timeoutMs: s.timeoutMs } : {}),
      ...(typeof s.samples === 'string' ? { samples: s.samples } : {}),
    };
  }
  if (b.bakeMs !== undefined) {
    if (!Number.isInteger(b.bakeMs) || (b.bakeMs as number) < 0) bad('bakeMs', 'must be a whole number of ms ≥ 0');
    options.bakeMs = b.bakeMs as number;
  }
  if (b.canary !== undefined) {
    const c = b.canary as { steps?: unknown; stepMs?: unknown };
    if (typeof c !== 'object' || c === null) bad('canary', 'must be an object ({ steps, stepMs })');
    if (c.steps !== undefined && !Array.isArray(c.steps)) bad('canary.steps', 'must be a list of percentages');
    if (c.stepMs !== undefined && (!Number.isInteger(c.stepMs) || (c.stepMs as number) < 0))
      bad('canary.stepMs', 'must be a whole number of ms ≥ 0');
    options.canary = {
      ...(c.steps === undefined ? {} : { steps: canarySteps(c.steps as unknown[]) }),
      ...(c.stepMs === undefined ? {} : { stepMs: c.stepMs as number }),
    };
  }
  if (b.gates !== undefined) {
    if (typeof b.gates !== 'object' || b.gates === null) bad('gates', 'must be an object');
    options.gates = b.gates as DeployOptions['gates'];
  }
  if (b.batchSize !== undefined) options.batchSize = b.batchSize as number;
  if (b.allowUntested !== undefined && typeof b.allowUntested !== 'boolean') bad('allowUntested', 'must be a boolean');
  return {
    artifact: b.artifact as string,
    allowUntested: b.allowUntested === true,
    ...(typeof b.pipeline === 'string' ? { pipeline: b.pipeline } : {}),
    options,
  };
}

const REPORT_LAYERS = ['unit', 'integration', 'e2e'] as const satisfies readonly TestLayer[];
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Checks a test report body (POST /api/test-reports) once, at the boundary, naming the bad field. */
export function parseTestReportBody(body: unknown): TestReport {
  const bad = (field: string, message: string): never => {
    throw new SlipwayError('SLIPWAY_USAGE', `Invalid test report: ${field} ${message}.`, { details: { field } });
  };
  const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  const ms = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad('(body)', 'must be a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.digest !== 'string' || !DIGEST.test(b.digest))
    bad('digest', "must be an artifact digest ('sha256:' and 64 hex digits)");
  if (typeof b.passed !== 'boolean') bad('passed', 'must be a boolean');
  if (typeof b.layers !== 'object' || b.layers === null)
    bad('layers', `must be an object with ${REPORT_LAYERS.join(', ')}`);
  const layers = {} as Record<TestLayer, TestLayerResult>;
  for (const layer of REPORT_LAYERS) {
    const l = (b.layers as Record<string, unknown>)[layer] as Record<string, unknown> | null | undefined;
    if (typeof l !== 'object' || l === null)
      return bad(`layers.${layer}`, 'must be an object ({ passed, failed, skipped, files })');
    for (const k of ['passed', 'failed', 'skipped', 'files'] as const)
      if (!count(l[k])) bad(`layers.${layer}.${k}`, 'must be a whole number ≥ 0');
    layers[layer] = {
      passed: l.passed as number,
      failed: l.failed as number,
      skipped: l.skipped as number,
      files: l.files as number,
    };
  }
  if (!Array.isArray(b.failures)) bad('failures', 'must be a list');
  const failures = (b.failures as unknown[]).map((f, i): TestFailure => {
    const at = `failures[${i}]`;
    if (typeof f !== 'object' || f === null) return bad(at, 'must be an object ({ layer, name, file, message })');
    const x = f as Record<string, unknown>;
    if (!(REPORT_LAYERS as readonly unknown[]).includes(x.layer))
      bad(`${at}.layer`, `must be one of ${REPORT_LAYERS.join(', ')}`);
    if (typeof x.name !== 'string' || x.name === '') bad(`${at}.name`, "must be the failing test's name");
    if (x.file !== null && typeof x.file !== 'string') bad(`${at}.file`, 'must be a file path or null');
    if (x.message !== undefined && typeof x.message !== 'string') bad(`${at}.message`, 'must be text');
    return {
      layer: x.layer as TestLayer,
      name: x.name as string,
      file: x.file as string | null,
      ...(x.message === undefined ? {} : { message: x.message as string }),
    };
  });
  // A report that passes lets a digest through the release gate: it must not list failing tests.
  if (b.passed === true && (failures.length > 0 || REPORT_LAYERS.some((l) => layers[l].failed > 0)))
    bad('passed', 'cannot be true when tests failed');
  if (!ms(b.startedAt)) bad('startedAt', 'must be milliseconds since the epoch');
  if (!ms(b.durationMs)) bad('durationMs', 'must be a number of ms ≥ 0');
  return {
    digest: b.digest as string,
    passed: b.passed as boolean,
    layers,
    failures,
    startedAt: b.startedAt as number,
    durationMs: b.durationMs as number,
  };
}

const STATUS_BY_CODE: Record<string, number> = {
  SLIPWAY_USAGE: 400,
  SLIPWAY_DEPLOYMENT_NOT_FOUND: 404,
  SLIPWAY_ARTIFACT_NOT_FOUND: 404,
  SLIPWAY_ARTIFACT_TAMPERED: 409,
  SLIPWAY_ARTIFACT_AMBIGUOUS: 409,
  SLIPWAY_DEPLOY_REFUSED: 409,
  SLIPWAY_RELEASE_GATE: 409,
};

/** The control plane's HTTP API, which the CLI and the dashboard use. */
export function createApi(controller: Controller, options: { artifactsDir: string; onShutdown?: () => void }): Hono {
  const app = new Hono();
  app.onError((err, c) => {
    if (isSlipwayError(err)) {
      return c.json(
        { error: { code: err.code, message: err.message, details: err.details } },
        (STATUS_BY_CODE[err.code] ?? 500) as 400,
      );
    }
    return c.json({ error: { code: 'SLIPWAY_INTERNAL', message: err.message } }, 500);
  });
  app.get('/api/health', (c) => c.json({ ok: true, pid: process.pid, environment: controller.environment }));
  app.get('/api/status', async (c) => {
    const releases = await controller.store.listReleases(controller.environment);
    const runners = await Promise.all(
      controller.liveRunners().map(async ({ pipeline, runner, artifact }) => ({
        pipeline,
        runner: runner.spec.id,
        pid: runner.pid ?? null,
        runners: runner.size,
        artifact,
        stats: await runner.stats().catch(() => null),
      })),
    );
    const active = await controller.store.activeDeployments();
    return c.json({ environment: controller.environment, releases, runners, active });
  });
  app.get('/api/deployments', async (c) => {
    const limit = Number(c.req.query('limit') ?? 20);
    const pipeline = c.req.query('pipeline');
    return c.json(
      await controller.store.listDeployments({
        limit,
        environment: controller.environment,
        ...(pipeline ? { pipeline } : {}),
      }),
    );
  });
  app.get('/api/deployments/:id', async (c) => {
    const record = await controller.store.getDeployment(c.req.param('id'));
    if (record === undefined)
      throw new SlipwayError('SLIPWAY_DEPLOYMENT_NOT_FOUND', `No deployment '${c.req.param('id')}'.`);
    const after = Number(c.req.query('after') ?? 0);
    const events = (await controller.store.events(record.id)).filter((e) => e.seq > after);
    return c.json({ deployment: record, events });
  });
  app.post('/api/pipelines/:pipeline/scale', async (c) => {
    const body = (await c.req.json().catch(() => undefined)) as { runners?: unknown } | undefined;
    if (typeof body !== 'object' || body === null || !Number.isInteger(body.runners) || (body.runners as number) < 1)
      throw new SlipwayError('SLIPWAY_USAGE', 'Invalid scale request: runners must be a whole number ≥ 1.', {
        details: { field: 'runners' },
      });
    return c.json(await controller.scale(c.req.param('pipeline'), body.runners as number), 202);
  });
  app.post('/api/deployments', async (c) => {
    const body = parseDeployBody(await c.req.json().catch(() => undefined));
    const artifact = await resolveArtifact(body.artifact, {
      storeDir: options.artifactsDir,
      ...(body.pipeline ? { pipeline: body.pipeline } : {}),
    });
    const gate = await checkReleaseGate({
      store: controller.store,
      environment: controller.environment,
      artifact,
      allowUntested: body.allowUntested,
    });
    const deployOptions = gate.untested ? { ...body.options, untested: true } : body.options;
    return c.json(await controller.deploy(artifact, deployOptions), 201);
  });
  app.post('/api/rollback', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { pipeline?: unknown };
    if (typeof body.pipeline !== 'string')
      throw new SlipwayError('SLIPWAY_USAGE', 'Invalid rollback request: pipeline must name a pipeline.');
    const id = await controller.rollback(body.pipeline);
    if (id === undefined) {
      throw new SlipwayError(
        'SLIPWAY_DEPLOYMENT_NOT_FOUND',
        `No deployment of ${body.pipeline} is in progress to roll back. To go back to an earlier version, deploy its artifact.`,
      );
    }
    return c.json({ deployment: id });
  });
  app.post('/api/test-reports', async (c) => {
    const report = parseTestReportBody(await c.req.json().catch(() => undefined));
    await controller.store.putTestReport(report);
    return c.json({ digest: report.digest, passed: report.passed }, 201);
  });
  app.post('/api/shutdown', (c) => {
    setImmediate(() => options.onShutdown?.());
    return c.json({ ok: true });
  });
  return app;
}
