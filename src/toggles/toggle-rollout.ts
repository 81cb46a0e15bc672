import { SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { parseTogglesHeader, TOGGLES_HEADER } from './toggle-evaluator.js';
import { readToggleHistory, setToggle, TOGGLE_TOPIC, type ToggleChangeEntry } from './toggle-log.js';
import type { ToggleRule, ToggleSetting } from './toggle-setting.js';

export interface ToggleRolloutOptions {
  log: Log;
  toggle: string;
  /** Shares to raise to, in order (e.g. 1, 10, 50, 100). */
  steps: number[];
  /** The variant the share turns on (default: the toggle's `on`, as `slipway toggle set`). */
  variant?: string;
  /** The toggle's default variant: records with it are the untoggled ones (default `off`). */
  defaultVariant?: string;
  /** Rules the share stays within (`--where`). */
  where?: ToggleRule[];
  /** How long each step bakes before its gates are judged, in ms (default 10,000). */
  bakeMs?: number;
  /**
   * How many more dead letters per processed record the toggled keys may have than the untoggled ones
   * (default 0.01: the environment's `maxDlqRatio` SLO when the CLI finds one).
   */
  maxDlqRatio?: number;
  /** Records of toggled keys a step needs before it is judged; with fewer it bakes on (default 20). */
  minRecords?: number;
  /** Longest a step waits for `minRecords` past its bake time, in ms (default: 5 × bakeMs). */
  maxWaitMs?: number;
  /** Who runs it (recorded with each change). */
  by: string;
  signal?: AbortSignal;
  /** Told of each step and verdict (the CLI prints them). */
  onEvent?(event: ToggleRolloutEvent): void;
}

/** The evidence of one step: records processed and dead-lettered, split by whether the toggle turned them on. */
export interface ToggleGateEvidence {
  toggled: { records: number; dlq: number };
  untoggled: { records: number; dlq: number };
}

export type ToggleRolloutEvent =
  | { type: 'step'; step: number; of: number; percent: number; version: number }
  | { type: 'gate'; step: number; gate: 'dlq-ratio'; passed: boolean; message: string; evidence: ToggleGateEvidence }
  | { type: 'rolled-back'; gate: string; message: string; version: number }
  | { type: 'completed'; version: number };

export interface ToggleRolloutResult {
  status: 'completed' | 'rolled-back';
  /** The gate that failed, when rolled back. */
  gate?: string;
  message?: string;
  changes: ToggleChangeEntry[];
}

const ratio = (s: { records: number; dlq: number }): number => (s.records === 0 ? 0 : s.dlq / s.records);
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

/**
 * Raises a toggle's share step by step, like a canary without a deploy: each step is a toggle change
 * (recorded, picked up by running pipelines at an offset barrier), baked, then judged on the records the
 * pipelines wrote since the step began — the dead-letter ratio of toggled keys against untoggled ones,
 * read from the `slipway-toggles` header of every output and dead letter. A failed gate sets the toggle
 * back to its setting before the rollout, recorded with the gate and its evidence.
 *
 * @example
 * const result = await rolloutToggle({ log, toggle: 'new-pricing', steps: [1, 10, 50, 100], by: 'ana' })
 */
export async function rolloutToggle(options: ToggleRolloutOptions): Promise<ToggleRolloutResult> {
  const { log, toggle, steps } = options;
  if (
    !Array.isArray(steps) ||
    steps.length === 0 ||
    steps.some((s, i) => !(s > 0 && s <= 100) || (i > 0 && s <= (steps[i - 1] as number)))
  )
    throw new SlipwayError(
      'SLIPWAY_INVALID_TOGGLE',
      `Rollout steps must rise from above 0 to at most 100; got ${steps.join(',')}.`,
      {
        details: { field: 'steps' },
      },
    );
  const bakeMs = options.bakeMs ?? 10_000;
  const maxDlqRatio = options.maxDlqRatio ?? 0.01;
  const minRecords = options.minRecords ?? 20;
  const maxWaitMs = options.maxWaitMs ?? 5 * bakeMs;
  const before = (await readToggleHistory(log)).filter((c) => c.toggle === toggle).at(-1)?.setting ?? null;
  const changes: ToggleChangeEntry[] = [];
  const emit = (e: ToggleRolloutEvent): void => options.onEvent?.(e);
  for (let i = 0; i < steps.length; i++) {
    const percent = steps[i] as number;
    const from = await endOffsets(log);
    const setting: ToggleSetting = {
      percent,
      ...(options.variant === undefined ? {} : { variant: options.variant }),
      ...(options.where === undefined ? {} : { where: options.where }),
    };
    const change = await setToggle(log, {
      toggle,
      setting,
      by: options.by,
      reason: `rollout step ${i + 1}/${steps.length} (${percent} %)`,
    });
    changes.push(change);
    emit({ type: 'step', step: i + 1, of: steps.length, percent, version: change.version });
    const started = Date.now();
    let evidence: ToggleGateEvidence;
    for (;;) {
      await sleep(Math.max(0, bakeMs - (Date.now() - started)), options.signal);
      evidence = await gather(log, from, toggle, change.version, options.defaultVariant ?? 'off');
      if (evidence.toggled.records + evidence.toggled.dlq >= minRecords || Date.now() - started >= bakeMs + maxWaitMs)
        break;
      await sleep(Math.min(500, bakeMs), options.signal);
    }
    const on = ratio(evidence.toggled);
    const off = ratio(evidence.untoggled);
    const passed = on <= off + maxDlqRatio;
    const message = `toggled keys dead-lettered ${pct(on)} of ${evidence.toggled.records} records, untoggled ${pct(off)} of ${evidence.untoggled.records} (allowed: ${pct(maxDlqRatio)} more)`;
    emit({ type: 'gate', step: i + 1, gate: 'dlq-ratio', passed, message, evidence });
    if (!passed) {
      const back = await setToggle(log, {
        toggle,
        setting: before,
        by: options.by,
        reason: `rollout set back at step ${i + 1}/${steps.length} (${percent} %): gate dlq-ratio failed: ${message}`,
      });
      changes.push(back);
      emit({ type: 'rolled-back', gate: 'dlq-ratio', message, version: back.version });
      return { status: 'rolled-back', gate: 'dlq-ratio', message, changes };
    }
  }
  emit({ type: 'completed', version: (changes.at(-1) as ToggleChangeEntry).version });
  return { status: 'completed', changes };
}

/** End offsets of every topic but Slipway's own (`slipway.*`): where a step's evidence starts. */
async function endOffsets(log: Log): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of await log.listTopics()) {
    if (t.name === TOGGLE_TOPIC || t.name.startsWith('slipway.')) continue;
    for (let p = 0; p < t.partitions; p++) out.set(`${t.name}\u0000${p}`, await log.endOffset(t.name, p));
  }
  return out;
}

/**
 * Counts, since `from`, the records whose `slipway-toggles` header names `toggle` at `version` or later —
 * dead letters (`.dlq` topics) and outputs (first emits only: one per input record) — split into those
 * whose variant was the toggle's default (untoggled) and the others (toggled).
 */
async function gather(
  log: Log,
  from: Map<string, number>,
  toggle: string,
  version: number,
  def: string,
): Promise<ToggleGateEvidence> {
  const counts = new Map<string, { records: number; dlq: number }>();
  for (const t of await log.listTopics()) {
    if (t.name === TOGGLE_TOPIC || t.name.startsWith('slipway.')) continue;
    const dlq = /\.dlq(\.|$)/.test(t.name) && !t.name.includes('.replayed');
    for (let p = 0; p < t.partitions; p++) {
      let offset = from.get(`${t.name}\u0000${p}`) ?? 0;
      for (;;) {
        const records = await log.read(t.name, p, offset, 5000);
        if (records.length === 0) break;
        for (const r of records) {
          const h = parseTogglesHeader(r.headers[TOGGLES_HEADER]);
          const variant = h?.variants[toggle];
          if (h === undefined || variant === undefined || h.version < version) continue;
          if (!dlq && (r.headers['slipway-source'] ?? '').includes('#')) continue;
          let c = counts.get(variant);
          if (c === undefined) {
            c = { records: 0, dlq: 0 };
            counts.set(variant, c);
          }
          if (dlq) c.dlq++;
          else c.records++;
        }
        offset = (records.at(-1)?.offset as number) + 1;
      }
    }
  }
  return split(counts, def);
}

function split(counts: Map<string, { records: number; dlq: number }>, def: string): ToggleGateEvidence {
  const toggled = { records: 0, dlq: 0 };
  const untoggled = { records: 0, dlq: 0 };
  for (const [variant, c] of counts) {
    const into = variant === def ? untoggled : toggled;
    into.records += c.records + c.dlq;
    into.dlq += c.dlq;
  }
  return { toggled, untoggled };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
