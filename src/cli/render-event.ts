import type {
  BakeOutcome,
  ConfigChange,
  DeploymentEvent,
  DeploymentRecord,
  ReplayOutcome,
  StepError,
} from '../deploy/deployment.js';
import type { GateVerdict } from '../deploy/gates.js';
import type { OutputDiff } from '../deploy/output-diff.js';
import type { PartitionOffset } from '../log/log.js';

const total = (offsets: readonly PartitionOffset[] | undefined): number =>
  (offsets ?? []).reduce((n, o) => n + o.offset, 0);

const describeError = (e: StepError): string => `${e.code === null ? '' : `${e.code}: `}${e.message}`;

const failedGates = (gates: readonly GateVerdict[] | undefined): string =>
  (gates ?? [])
    .filter((g) => !g.ok)
    .map((g) => g.message)
    .join('; ');

function verdictText(v: BakeOutcome): string {
  if (v.ok) return 'gates passed';
  if (v.requested) return 'rollback requested';
  const failed = failedGates(v.gates);
  if (failed !== '') return `gate failed: ${failed}`;
  return `${v.reason ?? 'failed'}${v.error === undefined ? '' : `: ${describeError(v.error)}`}`;
}

const show = (v: unknown): string => (v === undefined ? '(unset)' : JSON.stringify(v));

function describeChanges(changes: readonly ConfigChange[]): string {
  if (changes.length === 0) return 'no change';
  const listed = changes.slice(0, 5).map((c) => `${c.path} ${show(c.from)} → ${show(c.to)}`);
  return listed.join(', ') + (changes.length > 5 ? `, and ${changes.length - 5} more` : '');
}

const fieldCounts = (counts: ReadonlyArray<[string, number]>): string => counts.map(([f, n]) => `${f}×${n}`).join(', ');

/**
 * A shadow diff's counts: `N identical, M changed as allowed (fields), K changed (fields), L missing, X extra`.
 * A diff recorded before allowed changes were counted apart has no `changedAllowed`: its `identical`
 * includes them, and its fields are listed once.
 */
export function describeDiffCounts(diff: OutputDiff): string {
  const tail = `${diff.missing} missing, ${diff.extra} extra`;
  const entries = Object.entries(diff.changedFields);
  if (diff.changedAllowed === undefined || diff.allowedFields === undefined) {
    const fields = fieldCounts(entries);
    const allowed = diff.changed === 0 && fields !== '' ? ' (changed only in allowed fields)' : '';
    return `${diff.identical} identical, ${diff.changed} changed, ${tail}${fields ? ` (fields: ${fields})${allowed}` : ''}`;
  }
  const allowedSet = new Set(diff.allowedFields);
  const allowed = fieldCounts(entries.filter(([f]) => allowedSet.has(f)));
  const unexpected = fieldCounts(entries.filter(([f]) => !allowedSet.has(f)));
  return (
    `${diff.identical} identical, ` +
    `${diff.changedAllowed} changed as allowed${diff.changedAllowed > 0 && allowed ? ` (${allowed})` : ''}, ` +
    `${diff.changed} changed${diff.changed > 0 && unexpected ? ` (${unexpected})` : ''}, ${tail}`
  );
}

/** One line (or two) for a deployment event, as `deploy` and `history` print them. */
export function describeEvent(e: DeploymentEvent): string {
  const at = new Date(e.at).toISOString().slice(11, 23);
  const line = (label: string, text: string): string => `${at}  ${label.padEnd(11)} ${text}`;
  if (e.kind === 'error') return line(e.step, `error ${describeError(e.data)}`);
  switch (e.step) {
    case 'planned':
      return line(
        'planned',
        `${e.data.artifact.pipeline}@${e.data.artifact.version}${e.data.options.untested ? ' (untested)' : ''}${
          e.data.previous === null
            ? ' — first release: nothing live to hand over from'
            : ` replacing ${e.data.previous.version}`
        }`,
      );
    case 'config':
      return line(
        'config',
        e.data.from === 'live'
          ? `carried forward from the live release (${describeChanges(e.data.changes)})`
          : e.data.from === 'defaults'
            ? "the config schema's defaults"
            : `as given: ${describeChanges(e.data.changes)}`,
      );
    case 'state-migration': {
      const { from, to } = e.data;
      if (e.data.what === 'reverse')
        return line(
          'state',
          `taken back from layout ${from} to ${to} with down (${e.data.partitions} partitions, ${e.data.keys} keys)`,
        );
      // An older version deployed: it does not migrate; the live (newer) one takes its state back first.
      if (e.data.direction === 'down')
        return line(
          'state',
          `goes back from layout ${from} to ${to} (an older version): the live version takes it back with its down at the cutover; a rollback migrates it up again`,
        );
      return line(
        'state',
        `migrates from layout ${from} to ${to} at green's activation; ${e.data.reversible ? 'a rollback takes it back with down' : 'NO down migration: a rollback will not be possible (--irreversible-state)'}`,
      );
    }
    case 'start-green':
      if (e.kind === 'info') return line('green', `started in standby (${e.data.runner})`);
      if (e.kind === 'begin') return line('recreate', 'starting green…');
      return line('recreate', `green running (output stopped for ${e.data.pauseMs} ms)`);
    case 'stop-blue':
      return line('recreate', e.kind === 'begin' ? 'stopping blue…' : 'blue stopped');
    case 'shadow': {
      if (e.kind === 'begin') return line('shadow', "green reads blue's offsets into shadow outputs…");
      const { diff, sampleDiff, ok } = e.data;
      const sampleLine =
        sampleDiff === undefined
          ? ''
          : `\n${line('sample diff', `${sampleDiff.records} records of ${sampleDiff.samples.join(', ')} (live input too sparse): ${describeDiffCounts(sampleDiff)} → ${ok ? 'pass' : 'FAIL'}`)}`;
      if (diff.compared === 0)
        return `${line('shadow diff', 'nothing to compare: no input arrived during the shadow run')}${sampleLine}`;
      return `${line(
        'shadow diff',
        `${diff.compared} compared: ${describeDiffCounts(diff)} → ${ok ? 'pass' : `FAIL${failedGates(e.data.gates) ? `: ${failedGates(e.data.gates)}` : ''}`}`,
      )}${sampleLine}`;
    }
    case 'cutover':
      if (e.kind === 'begin') {
        if (e.data.blue !== null) return line('cutover', 'pausing blue at its committed offsets…');
        const before = e.data.committedBefore;
        return line(
          'cutover',
          `first release: nothing live to pause; green takes the pipeline ${
            before === undefined
              ? 'from the start of its inputs'
              : `from the offsets an earlier runner committed (${before} records already processed, e.g. by \`slipway run\`)`
          }…`,
        );
      }
      return line('cutover', `at offset ${e.data.records} (epoch ${e.data.epoch}), pause ${e.data.pauseMs} ms`);
    case 'bake':
      if (e.kind === 'begin') return line('bake', 'watching gates…');
      return line('bake', verdictText(e.data));
    case 'rollback':
      if (e.kind === 'begin') return line('rollback', 'pausing green, activating blue at the same offsets…');
      return line('rollback', `done in ${e.data.rollbackMs} ms (pause ${e.data.pauseMs} ms)`);
    case 'start-runners':
      return line('scale', `${e.data.runners} runners started in standby, each with a share of the partitions`);
    case 'handoff':
      if (e.kind === 'begin') return line('handoff', 'pausing the running set at its committed offsets…');
      return line('handoff', `${e.data.runners} runners live at offset ${e.data.records}, pause ${e.data.pauseMs} ms`);
    case 'barrier': {
      const share = e.data.share;
      const what =
        share === 0
          ? 'blue takes every key again'
          : share === 100
            ? 'green takes every key'
            : `green takes ${share} % of keys`;
      return line('barrier', `both sides at offset ${total(e.data.offsets)}: ${what}`);
    }
    case 'canary-cutover':
      if (e.kind === 'begin') return line('canary', '100 % of keys to green…');
      return line(
        'cutover',
        `green is live at offset ${e.data.records} (epoch ${e.data.epoch}), pause ${e.data.pauseMs} ms`,
      );
    case 'pause-live':
      if (e.kind === 'begin') return line('replay', 'pausing the live runner at its committed offsets…');
      return line('replay', `live runner paused at offset ${e.data.records}`);
    case 'replay':
      if (e.kind === 'begin')
        return line('replay', `${e.data.planned} dead letters through ${e.data.version}, exactly once by source…`);
      return line('replay', describeReplay(e.data));
    case 'resume-live':
      if (e.kind === 'begin') return line('replay', 'activating the live runner from the same offsets…');
      return line(
        'replay',
        `live again from offset ${e.data.records}${e.data.pauseMs === null ? '' : ` (output paused ${e.data.pauseMs} ms)`}`,
      );
    case 'contract': {
      const list = (steps: ReadonlyArray<{ table: string; version: number; description: string }>): string =>
        steps.map((s) => `${s.table} step ${s.version} (${s.description})`).join(', ');
      if (e.kind === 'begin')
        return line('contract', `blue retired: applying the contract migrations ${list(e.data.steps)}…`);
      return line('contract', `applied ${list(e.data.applied)} (recorded in the ledger)`);
    }
    case 'runner':
      return line(
        'runner',
        `${e.data.runner} ${e.data.what}${e.data.detail === undefined ? '' : ` (${e.data.detail})`}`,
      );
    case 'completed':
      return line(
        'completed',
        e.data.contractError === undefined
          ? ''
          : `the contract migrations failed (${describeError(e.data.contractError)}): green stays live, they stay pending (slipway datastores apply --allow-destructive)`,
      );
    case 'aborted':
    case 'failed':
    case 'rolled_back': {
      const d = e.data;
      const parts = [
        d.reason,
        failedGates(d.gates) || undefined,
        d.error === undefined ? undefined : describeError(d.error),
        d.rollbackMs === undefined ? undefined : `rollback ${d.rollbackMs} ms`,
        d.deadLettered ? `${d.deadLettered} records dead-lettered by the rolled-back version` : undefined,
      ].filter((p) => p !== undefined && p !== '');
      return line(e.step, parts.join('; '));
    }
    default: {
      // A canary step: `canary-<share>`.
      const share = e.step.slice('canary-'.length);
      if (e.kind === 'begin') return line('canary', `${share} % of keys to green…`);
      if (e.kind === 'end') {
        const pause = e.data.pauseMs === undefined ? '' : ` (pause ${e.data.pauseMs} ms)`;
        return line('canary', `${share} %: ${verdictText(e.data)}${e.data.ok ? pause : ''}`);
      }
      return line('canary', `${share} %`);
    }
  }
}

/** What a replay of dead letters did, in one line. */
export function describeReplay(r: ReplayOutcome): string {
  const skipped = [
    r.alreadyReplayed > 0 ? `${r.alreadyReplayed} replayed before` : undefined,
    r.skippedFailed > 0 ? `${r.skippedFailed} failed again before (--retry-failed)` : undefined,
    r.unreadable > 0 ? `${r.unreadable} unreadable` : undefined,
  ].filter((p) => p !== undefined);
  return `${r.replayed} replayed through ${r.version} (${r.outputs} outputs), ${r.failedAgain} dead-lettered again${
    skipped.length === 0 ? '' : `; skipped ${skipped.join(', ')}`
  }`;
}

/** The command that replays what a rolled-back deployment's version dead-lettered. */
export const replayCommand = (d: Pick<DeploymentRecord, 'id' | 'pipeline'>): string =>
  `slipway dlq replay ${d.pipeline} --deployment ${d.id}`;

/**
 * The last line of a deployment: its status and, when it did not complete, why; a rollback whose version
 * dead-lettered records gives the command that replays them through the live version; a replay what it did.
 */
export function describeOutcome(d: DeploymentRecord): string {
  const s = d.summary;
  if (d.status === 'running') return `${d.id} ${d.status}`;
  if (d.status === 'completed')
    return `${d.id} ${d.status}${s.replay === undefined ? '' : `: ${describeReplay(s.replay)}`}`;
  const why = [
    s.reason,
    failedGates(s.gates) || undefined,
    s.error === undefined ? undefined : describeError(s.error),
  ].filter((p): p is string => p !== undefined && p !== '');
  if (d.status === 'rolled_back' && (s.deadLettered ?? 0) > 0)
    why.push(
      `${s.deadLettered} records dead-lettered by ${d.artifact.version}: replay them through the live version with \`${replayCommand(d)}\``,
    );
  return `${d.id} ${d.status}${why.length === 0 ? '' : `: ${why.join('; ')}`}`;
}
