import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { evaluateGates, GATE_DEFAULTS, GateConfigSchema } from '../deploy/gates.js';
import { isSlipwayError } from '../errors.js';
import { checkProject, type ProjectSpec } from './project.js';
import { DEFAULT_ALERT_AFTER_MS, pipelineSlo, resolveSlos, sloGateDefaults } from './slo.js';

const project: ProjectSpec = checkProject({
  slos: {
    'enrich-orders': { maxLag: 10_000, p99LatencyMs: 2000, maxDlqRatio: 0.01, freshness: '10m' },
    billing: { maxLag: 500, alertAfter: '1m' },
  },
  environments: {
    dev: { log: { engine: 'embedded' } },
    staging: {
      log: { engine: 'kafka', brokers: ['kafka:9092'] },
      topicPrefix: 'staging.',
      pipelines: { 'enrich-orders': { slo: { maxLag: 50_000, alertAfter: '15m' } } },
    },
    prod: {
      log: { engine: 'kafka', brokers: ['kafka:9092'] },
      topicPrefix: 'prod.',
      pipelines: {
        'enrich-orders': { slo: { p99LatencyMs: 500, freshness: 30_000 } },
        // Declared only here: prod watches it, the other environments do not.
        audit: { slo: { maxDlqRatio: 0 } },
        // Configured without an SLO: nothing to watch.
        quiet: { runners: 2 },
      },
    },
  },
});

describe('SLOs per environment', () => {
  it("takes the project's SLOs where an environment overrides nothing", () => {
    const dev = resolveSlos(project, 'dev');
    assert.deepEqual(Object.keys(dev), ['enrich-orders', 'billing']);
    assert.deepEqual(dev['enrich-orders'], {
      pipeline: 'enrich-orders',
      environment: 'dev',
      maxLag: 10_000,
      p99LatencyMs: 2000,
      maxDlqRatio: 0.01,
      freshnessMs: 600_000,
      alertAfterMs: DEFAULT_ALERT_AFTER_MS,
    });
    assert.equal(dev.billing?.alertAfterMs, 60_000);
    assert.equal(dev.billing?.p99LatencyMs, undefined, 'a field no one declares is not watched');
  });

  it("overrides field by field with the environment's slo, and adds pipelines only it declares", () => {
    const staging = pipelineSlo(project, 'staging', 'enrich-orders');
    assert.equal(staging?.maxLag, 50_000);
    assert.equal(staging?.p99LatencyMs, 2000, 'what staging leaves out comes from the project');
    assert.equal(staging?.alertAfterMs, 15 * 60_000);
    const prod = resolveSlos(project, 'prod');
    assert.deepEqual(Object.keys(prod), ['enrich-orders', 'billing', 'audit']);
    assert.equal(prod['enrich-orders']?.maxLag, 10_000);
    assert.equal(prod['enrich-orders']?.p99LatencyMs, 500);
    assert.equal(prod['enrich-orders']?.freshnessMs, 30_000);
    assert.equal(prod.audit?.maxDlqRatio, 0);
    assert.equal(prod.quiet, undefined);
    assert.equal(pipelineSlo(project, 'dev', 'audit'), undefined);
  });

  it('refuses an environment the project does not declare, naming those it does', () => {
    assert.throws(
      () => resolveSlos(project, 'qa'),
      (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_UNKNOWN_ENVIRONMENT') && /declares: dev, staging, prod/.test(err.message),
    );
  });

  it('refuses a bad alertAfter in the project with the path of the field', () => {
    assert.throws(
      () =>
        checkProject({
          slos: { p: { alertAfter: 'soon' } },
          environments: { dev: { log: { engine: 'embedded' } } },
        }),
      (err: unknown) => isSlipwayError(err, 'SLIPWAY_INVALID_DEFINITION') && /slos\.p\.alertAfter/.test(err.message),
    );
  });
});

describe('sloGateDefaults', () => {
  it('maps lag, p99 latency and DLQ ratio SLOs to the bake gates, leaving the rest to the gate defaults', () => {
    const gates = sloGateDefaults(pipelineSlo(project, 'prod', 'enrich-orders'));
    assert.deepEqual(gates, { maxLag: 10_000, maxP99LatencyMs: 500, maxDlqRatio: 0.01 });
    assert.equal(Value.Check(GateConfigSchema, gates), true, 'a valid gate config');
    assert.deepEqual(sloGateDefaults(pipelineSlo(project, 'dev', 'billing')), { maxLag: 500 });
    assert.deepEqual(sloGateDefaults(undefined), {});
  });

  it('makes a gate fail on figures within the default thresholds but past the SLO', () => {
    const green = { state: 'running', processed: 10_000, dlq: 0, p99LatencyMs: 900, latencySamples: 1000, lag: 20_000 };
    const withDefaults = evaluateGates({ green, final: true }, {});
    assert.ok(
      withDefaults.every((v) => v.ok),
      `within ${GATE_DEFAULTS.maxP99LatencyMs} ms and ${GATE_DEFAULTS.maxLag} behind`,
    );
    const withSlo = evaluateGates(
      { green, final: true },
      sloGateDefaults(pipelineSlo(project, 'prod', 'enrich-orders')),
    );
    const failed = withSlo.filter((v) => !v.ok).map((v) => v.gate);
    assert.deepEqual(failed.sort(), ['lag', 'p99-latency']);
  });
});
