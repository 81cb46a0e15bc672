import type { Command } from 'commander';
import { compareVersionsOf, formatIncompatibility, type Incompatibility } from '../../dataset/compatibility.js';
import { canonicalJson, type JsonSchema } from '../../dataset/schema.js';
import type { CliContext } from '../context.js';
import { storeFromOption } from './artifacts.js';
import { catalog, find, STORE_OPTION } from './datasets-catalog.js';

/** The structural differences between two schemas: properties added, removed, changed, required changes. */
export function schemaChanges(a: JsonSchema, b: JsonSchema, path = '$'): string[] {
  const out: string[] = [];
  const pa = (a.properties ?? {}) as Record<string, JsonSchema>;
  const pb = (b.properties ?? {}) as Record<string, JsonSchema>;
  const ra = new Set((a.required ?? []) as string[]);
  const rb = new Set((b.required ?? []) as string[]);
  for (const k of Object.keys(pb))
    if (!(k in pa)) out.push(`+ ${path}.${k}${rb.has(k) ? ' (required)' : ''}: ${canonicalJson(pb[k])}`);
  for (const k of Object.keys(pa)) if (!(k in pb)) out.push(`- ${path}.${k}${ra.has(k) ? ' (was required)' : ''}`);
  for (const k of Object.keys(pa)) {
    if (!(k in pb)) continue;
    if (ra.has(k) !== rb.has(k))
      out.push(`~ ${path}.${k}: ${ra.has(k) ? 'required → optional' : 'optional → required'}`);
    const x = pa[k] as JsonSchema;
    const y = pb[k] as JsonSchema;
    if (canonicalJson(x) === canonicalJson(y)) continue;
    if (x.type === 'object' && y.type === 'object') out.push(...schemaChanges(x, y, `${path}.${k}`));
    else out.push(`~ ${path}.${k}: ${canonicalJson(x)} → ${canonicalJson(y)}`);
  }
  const rest = (s: JsonSchema) => {
    const { properties: _p, required: _r, ...others } = s;
    return canonicalJson(others);
  };
  if (rest(a) !== rest(b)) out.push(`~ ${path} (object keywords): ${rest(a)} → ${rest(b)}`);
  return out;
}

/** `slipway datasets diff orders@1.1.0 orders@1.2.0`: what changed and which bump it needs. */
export function registerDatasetsDiff(datasets: Command, ctx: CliContext): void {
  datasets
    .command('diff')
    .description(
      'What changed between two dataset versions, and whether it is compatible each way (backward, forward, full) — which bump it needs',
    )
    .argument('<from>', 'e.g. orders@1.1.0')
    .argument('<to>', 'e.g. orders@1.2.0, or just 1.2.0')
    .option(...STORE_OPTION)
    .option('--control-plane <url>', 'the control plane whose registry to read')
    .option('--json', 'print JSON')
    .action(async (fromRef: string, toRef: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as { store?: string; controlPlane?: string; json?: boolean };
      const { versions } = await catalog(ctx, storeFromOption(ctx, opts.store), opts.controlPlane);
      const a = find(versions, fromRef, 'from');
      const b = find(versions, /^[0-9]/.test(toRef) ? `${a.name}@${toRef}` : toRef, 'to');
      const changes = schemaChanges(a.schema, b.schema);
      const backward = compareVersionsOf(a, b, 'backward');
      const forward = compareVersionsOf(a, b, 'forward');
      const verdict =
        a.major !== b.major
          ? 'another major (another topic): anything goes'
          : backward.length === 0 && forward.length === 0
            ? changes.length === 0
              ? 'no schema change (a patch)'
              : 'compatible both ways: full (a minor in every mode)'
            : backward.length === 0
              ? 'backward-compatible only (a minor in backward mode; a major in forward or full)'
              : forward.length === 0
                ? 'forward-compatible only (a minor in forward mode; a major in backward or full)'
                : 'breaking both ways (a major)';
      if (opts.json) {
        ctx.io.out(JSON.stringify({ from: a.version, to: b.version, changes, backward, forward, verdict }, null, 2));
        return;
      }
      ctx.io.out(`${a.name}@${a.version} → ${b.name}@${b.version}: ${verdict}`);
      for (const c of changes) ctx.io.out(`  ${c}`);
      const show = (label: string, list: Incompatibility[]) => {
        ctx.io.out(
          `${label}: ${list.length === 0 ? '✓ compatible' : `✗ ${list.length} incompatibilit${list.length === 1 ? 'y' : 'ies'}`}`,
        );
        for (const i of list) ctx.io.out(formatIncompatibility(i));
      };
      show(`backward (readers on ${b.version}, records of ${a.version})`, backward);
      show(`forward  (readers on ${a.version}, records of ${b.version})`, forward);
    });
}
