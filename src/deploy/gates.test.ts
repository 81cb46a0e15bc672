import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { LatencyHistogram, quantile } from '../runtime/latency-histogram.js';
import { differenceLowerBound, wilsonLowerBound } from './gate-statistics.js';
import {
  checkRunnerGates,
  countsSince,
  diffGate,
  evaluateGates,
  type GateConfig,
  GateConfigSchema,
  type GateFigures,
  type GateStatus,
  type GateVerdict,
  gatesOutcome,
} from './gates.js';
import type { OutputDiff } from './output-diff.js';

/** Green's figures: healthy, no latency samples unless given. */
function green(processed: number, dlq: number, more: Partial<GateFigures> = {}): GateFigures {
  return { state: 'running', processed, dlq, p99LatencyMs: null, latencySamples: 0, lag: 0, ...more };
}

/** A latency histogram of `fast` records at 20 ms and `slow` at `slowMs`. */
function latencies(
  fast: number,
  slow: number,
  slowMs: number,
): Pick<GateFigures, 'p99LatencyMs' | 'latencySamples' | 'latency'> {
  const h = new LatencyHistogram();
  for (let i = 0; i < fast; i++) h.record(20);
  for (let i = 0; i < slow; i++) h.record(slowMs);
  const latency = h.snapshot();
  return { latency, latencySamples: latency.samples, p99LatencyMs: quantile(latency, 0.99) };
}

function statusOf(results: GateVerdict[]): Record<string, GateStatus> {
  return Object.fromEntries(results.map((g) => [g.gate, g.status]));
}

interface Case {
  name: string;
  green: GateFigures | undefined;
  baseline?: { processed: number; dlq: number };
  final?: boolean;
  config?: GateConfig;
  /** The status of each gate named (others: not checked). */
  expect: Partial<Record<GateVerdict['gate'], GateStatus | 'absent'>>;
  ok: boolean;
  /** A message that must appear, by gate. */
  messages?: Partial<Record<GateVerdict['gate'], RegExp>>;
}

const cases: Case[] = [
  {
    name: 'the reported case: 3 of 204 records 100 ms into the bake (0.5 % poison, like blue) is pending, not failed',
    green: green(204, 3),
    baseline: { processed: 2010, dlq: 10 },
    expect: {
      runner: 'pass',
      'dlq-ratio': 'pending',
      'dlq-vs-blue': 'pending',
      'p99-latency': 'pending',
      lag: 'absent',
    },
    ok: true,
    messages: {
      'dlq-ratio':
        /^dlq-ratio 1\.5 % of 204 records \(blue 0\.5 % of 2,010 records\): too few to judge yet \(needs 500 records\)$/,
    },
  },
  {
    name: '3 of 204 passes the statistics too, when the floor allows judging it (1.5 % seen, not beyond chance above 1 %)',
    green: green(204, 3),
    baseline: { processed: 2010, dlq: 10 },
    config: { minRecords: 100 },
    expect: { 'dlq-ratio': 'pass', 'dlq-vs-blue': 'pass' },
    ok: true,
    messages: { 'dlq-ratio': /above 1 %, but not beyond chance$/ },
  },
  {
    name: 'a healthy green over enough records passes, and says so in a sentence',
    green: green(2000, 12),
    baseline: { processed: 2010, dlq: 10 },
    expect: { 'dlq-ratio': 'pass', 'dlq-vs-blue': 'pass' },
    ok: true,
    messages: {
      'dlq-ratio': /^dlq-ratio 0\.6 % of 2,000 records \(blue 0\.5 % of 2,010 records\): within 1 %$/,
      'dlq-vs-blue':
        /^dlq-vs-blue 0\.6 % of 2,000 records vs blue 0\.5 % of 2,010 records: not above blue's by more than 0\.5 points$/,
    },
  },
  {
    name: 'a 30 %-broken green is still pending one record short of the floor…',
    green: green(499, 150),
    expect: { 'dlq-ratio': 'pending' },
    ok: true,
  },
  {
    name: '…and fails as soon as it reaches it (500 records)',
    green: green(500, 150),
    expect: { 'dlq-ratio': 'fail' },
    ok: false,
    messages: {
      'dlq-ratio': /^dlq-ratio 30 % of 500 records: above the 1 % limit \(at least 2\d % with 99 % confidence\)$/,
    },
  },
  {
    name: 'a 30 %-broken green fails within a hundred records with a lower floor',
    green: green(100, 30),
    config: { minRecords: 100 },
    expect: { 'dlq-ratio': 'fail' },
    ok: false,
  },
  {
    name: 'a green exactly as poisoned as blue passes (2 % each, under a 5 % limit)',
    green: green(5000, 100),
    baseline: { processed: 5000, dlq: 100 },
    config: { maxDlqRatio: 0.05 },
    expect: { 'dlq-ratio': 'pass', 'dlq-vs-blue': 'pass' },
    ok: true,
  },
  {
    name: 'a green that doubles blue’s 2 % poison rate fails against blue, though within a 5 % limit',
    green: green(5000, 200),
    baseline: { processed: 5000, dlq: 100 },
    config: { maxDlqRatio: 0.05 },
    expect: { 'dlq-ratio': 'pass', 'dlq-vs-blue': 'fail' },
    ok: false,
    messages: {
      'dlq-vs-blue':
        /^dlq-vs-blue 4 % of 5,000 records vs blue 2 % of 5,000 records: higher than blue's by more than 0\.5 points \(at least 1\.\d points with 99 % confidence\)$/,
    },
  },
  {
    name: 'a green slightly worse than blue, within the tolerance, passes',
    green: green(20_000, 130),
    baseline: { processed: 20_000, dlq: 100 },
    expect: { 'dlq-vs-blue': 'pass' },
    ok: true,
  },
  {
    name: 'too few records at the end of the bake: inconclusive, passed, saying how many it saw',
    green: green(300, 2),
    baseline: { processed: 2000, dlq: 10 },
    final: true,
    expect: { 'dlq-ratio': 'inconclusive', 'dlq-vs-blue': 'inconclusive', 'p99-latency': 'inconclusive', lag: 'pass' },
    ok: true,
    messages: { 'dlq-ratio': /of 300 records.*too few to judge \(needs 500 records\); passed as inconclusive$/ },
  },
  {
    name: 'too few records at the end with requireConclusive: failed',
    green: green(300, 2),
    final: true,
    config: { requireConclusive: true },
    expect: { 'dlq-ratio': 'fail', 'p99-latency': 'fail' },
    ok: false,
  },
  {
    name: 'blue with too few records to compare with keeps the comparison pending',
    green: green(5000, 40),
    baseline: { processed: 120, dlq: 0 },
    expect: { 'dlq-ratio': 'pass', 'dlq-vs-blue': 'pending' },
    ok: true,
  },
  {
    name: 'a p99 of null (no record timed yet) is pending, never a pass at 0',
    green: green(5000, 0, { p99LatencyMs: null, latencySamples: 0 }),
    expect: { 'p99-latency': 'pending' },
    ok: true,
    messages: { 'p99-latency': /^p99-latency: no record timed yet: too few to judge yet/ },
  },
  {
    name: 'a p99 of null at the end is inconclusive, not passed',
    green: green(5000, 0),
    final: true,
    expect: { 'p99-latency': 'inconclusive' },
    ok: true,
  },
  {
    name: 'two slow records in a thousand (a GC pause) do not fail the latency gate',
    green: green(5000, 0, latencies(998, 2, 9000)),
    expect: { 'p99-latency': 'pass' },
    ok: true,
  },
  {
    name: 'five percent of records slower than the limit fail the latency gate',
    green: green(5000, 0, latencies(950, 50, 9000)),
    expect: { 'p99-latency': 'fail' },
    ok: false,
    messages: {
      'p99-latency': /^p99-latency [89],\d{3} ms over 1,000 samples: above 5,000 ms \(5 % of records slower/,
    },
  },
  {
    name: 'green that exited during the bake fails the runner gate',
    green: undefined,
    expect: { runner: 'fail', 'dlq-ratio': 'absent' },
    ok: false,
    messages: { runner: /^runner: green exited$/ },
  },
  { name: 'green failed', green: green(900, 0, { state: 'failed' }), expect: { runner: 'fail' }, ok: false },
  { name: 'green fenced', green: green(900, 0, { state: 'fenced' }), expect: { runner: 'fail' }, ok: false },
  {
    name: 'green still starting is pending',
    green: green(0, 0, { state: 'starting' }),
    expect: { runner: 'pending' },
    ok: true,
  },
  {
    name: 'lag is judged at the end of the bake only',
    green: green(900, 0, { lag: 250_000 }),
    final: true,
    expect: { lag: 'fail' },
    ok: false,
  },
];

describe('gates', () => {
  for (const c of cases) {
    it(c.name, () => {
      const results = evaluateGates({ green: c.green, baseline: c.baseline, final: c.final ?? false }, c.config ?? {});
      const got = statusOf(results);
      for (const [gate, want] of Object.entries(c.expect)) {
        assert.equal(got[gate] ?? 'absent', want, `${gate}: ${results.find((g) => g.gate === gate)?.message}`);
      }
      assert.equal(gatesOutcome(results).ok, c.ok);
      for (const [gate, re] of Object.entries(c.messages ?? {})) {
        assert.match(results.find((g) => g.gate === gate)?.message ?? '', re as RegExp);
      }
      for (const g of results) {
        assert.equal(g.ok, g.status !== 'fail', `${g.gate}: ok follows the status`);
        if (g.status === 'pending' || g.status === 'inconclusive') assert.equal(g.inconclusive, true);
      }
    });
  }

  it('carries the counts it judged: records, baseline records, value and limit', () => {
    const results = evaluateGates({ green: green(2000, 12), baseline: { processed: 2010, dlq: 10 }, final: false });
    const dlq = results.find((g) => g.gate === 'dlq-ratio');
    assert.deepEqual(
      { value: dlq?.value, limit: dlq?.limit, records: dlq?.records, baselineRecords: dlq?.baselineRecords },
      { value: 0.006, limit: 0.01, records: 2000, baselineRecords: 2010 },
    );
    const vs = results.find((g) => g.gate === 'dlq-vs-blue');
    assert.deepEqual([vs?.value, vs?.limit], [0.001, 0.005]);
  });

  it('the transitional checkRunnerGates takes the host’s p99 of 0 for no sample, never a pass', () => {
    const results = checkRunnerGates(
      { state: 'running', inputs: 900, processed: 900, dlq: 0, p99LatencyMs: 0, lag: 0 },
      {},
      true,
    );
    assert.equal(results.find((g) => g.gate === 'p99-latency')?.status, 'inconclusive');
    const slow = checkRunnerGates({ state: 'running', processed: 900, dlq: 0, p99LatencyMs: 9000, lag: 0 });
    assert.equal(slow.find((g) => g.gate === 'p99-latency')?.status, 'fail');
  });

  it('judges the shadow diff: nothing compared is inconclusive, unexpected differences fail', () => {
    const diff = (compared: number, changed: number): OutputDiff => ({
      compared,
      identical: compared - changed,
      changed,
      missing: 0,
      extra: 0,
      changedFields: {},
      examples: [],
      ratio: compared === 0 ? 0 : changed / compared,
    });
    assert.equal(diffGate(diff(0, 0)).status, 'inconclusive');
    assert.equal(diffGate(diff(0, 0), { requireConclusive: true }).ok, false);
    assert.equal(diffGate(diff(1000, 0)).status, 'pass');
    const failed = diffGate(diff(1000, 3), {}, 'sample-diff-ratio');
    assert.equal(failed.status, 'fail');
    assert.equal(failed.gate, 'sample-diff-ratio');
    assert.match(
      failed.message,
      /997 identical, 0 changed as allowed, 3 changed, 0 missing, 0 extra of 1000: above 0 %$/,
    );
  });

  it('gives a canary’s baseline as blue’s counts since green’s activation', () => {
    assert.deepEqual(countsSince({ processed: 9000, dlq: 40 }, { processed: 7000, dlq: 30 }), {
      processed: 2000,
      dlq: 10,
    });
  });

  it('validates its config with the schema: defaults optional, unknown fields and bad ranges refused', () => {
    assert.ok(Value.Check(GateConfigSchema, {}));
    assert.ok(Value.Check(GateConfigSchema, { maxDlqRatio: 0.02, minRecords: 1000, requireConclusive: true }));
    assert.ok(!Value.Check(GateConfigSchema, { maxDlqRatio: 2 }));
    assert.ok(!Value.Check(GateConfigSchema, { minRecords: 2.5 }));
    assert.ok(!Value.Check(GateConfigSchema, { maxDlqRatioo: 0.02 }));
  });
});

describe('gate statistics', () => {
  it('bounds a ratio from below (Wilson, 99 % one-sided)', () => {
    assert.equal(wilsonLowerBound(0, 0), 0);
    assert.equal(wilsonLowerBound(0, 1000), 0);
    assert.ok(wilsonLowerBound(3, 204) < 0.01);
    assert.ok(wilsonLowerBound(150, 500) > 0.25);
    // The bound tightens towards the ratio as records grow.
    assert.ok(wilsonLowerBound(200, 10_000) > wilsonLowerBound(20, 1000));
    assert.ok(Math.abs(wilsonLowerBound(20_000, 1_000_000) - 0.02) < 0.001);
  });

  it('bounds a difference of ratios from below (Agresti–Caffo, 99 % one-sided)', () => {
    assert.ok(differenceLowerBound(100, 5000, 100, 5000) < 0);
    assert.ok(differenceLowerBound(200, 5000, 100, 5000) > 0.01);
    assert.ok(differenceLowerBound(0, 1000, 0, 1000) < 0);
    assert.equal(differenceLowerBound(5, 0, 1, 10), -1);
  });
});
