import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { type ArtifactStore, DEFAULT_ARTIFACT_STORE_DIR } from '../../artifact/artifact-store.js';
import { buildArtifact } from '../../artifact/build-artifact.js';
import { type ArtifactManifest, BUNDLE_FILE, shortDigest } from '../../artifact/manifest.js';
import { checkVersions, formatVersionProblems, type VersionProblem } from '../../artifact/version-check.js';
import { ControlPlaneClient } from '../../control/client.js';
import { openSqliteControlStore } from '../../control/sqlite-control-store.js';
import {
  type CompatibilityMode,
  checkCompatibility,
  compareVersions,
  compareVersionsOf,
  DEFAULT_COMPATIBILITY,
  formatIncompatibility,
  type Incompatibility,
  parseVersion,
} from '../../dataset/compatibility.js';
import { canonicalJson, type JsonSchema } from '../../dataset/schema.js';
import type { DatasetVersionRecord } from '../../deploy/control-store.js';
import { datasetLineage, retireDatasetMajor } from '../../deploy/dataset-registry.js';
import { isSlipwayError, SlipwayError } from '../../errors.js';
import { runPipeline } from '../../testing/run-pipeline.js';
import type { CliContext } from '../context.js';
import { printTable } from '../io.js';
import {
  buildAtGitRef,
  type Known,
  knownFromManifest,
  knownFromRegistry,
  knownFromStore,
  lastReleaseTag,
  mergeKnown,
  type RegistrySnapshot,
  readRegistry,
} from '../known-versions.js';
import { storeFromOption } from './artifacts.js';
import { follow } from './deploy.js';

/**
 * The version problems of a manifest against everything known: the artifact store, the control plane's
 * registry, and the last release in git (`against`, or without a control plane the newest tag).
 */
export async function checkAgainstKnown(
  ctx: CliContext,
  options: {
    manifest: ArtifactManifest;
    store: ArtifactStore;
    entry: string;
    pipeline?: string;
    against?: string;
    controlPlane?: string;
    extra?: Known;
  },
): Promise<{ problems: VersionProblem[]; sources: string[] }> {
  const sources = [`the artifact store (${options.store.dir})`];
  const parts = [await knownFromStore(options.store)];
  const registry = await readRegistry(ctx, options.controlPlane);
  if (registry !== undefined) {
    sources.push(`the registry (${registry.from})`);
    parts.push(knownFromRegistry(registry));
  }
  const cwd = process.cwd();
  const ref = options.against ?? (registry === undefined ? lastReleaseTag(cwd) : undefined);
  if (ref !== undefined) {
    const released = await buildAtGitRef({
      cwd,
      entry: options.entry,
      ref,
      store: options.store,
      ...(options.pipeline === undefined ? {} : { pipeline: options.pipeline }),
    });
    sources.push(released === undefined ? `git ${ref} (no ${options.entry} there)` : `git ${ref}`);
    if (released !== undefined) {
      const known = knownFromManifest(released, `git ${ref}`);
      // A bundle names its modules by path: the release was built in another folder, so the work tree is
      // built in one like it to tell whether the code is the same.
      if (released.name === options.manifest.name && released.version === options.manifest.version) {
        const here = await buildAtGitRef({
          cwd,
          entry: options.entry,
          ref: null,
          store: options.store,
          ...(options.pipeline === undefined ? {} : { pipeline: options.pipeline }),
        });
        if (here?.digest === released.digest) known.pipelines = [];
      }
      parts.push(known);
    }
  }
  if (options.extra !== undefined) parts.push(options.extra);
  return { problems: checkVersions(options.manifest, mergeKnown(...parts)), sources };
}

/** A dataset version as the commands show it: from the registry, or built from the artifact store. */
type Catalog = DatasetVersionRecord[];

/** The registry merged with what the artifact store's manifests declare (versions only the store knows are added). */
async function catalog(
  ctx: CliContext,
  store: ArtifactStore,
  controlPlane?: string,
): Promise<{ versions: Catalog; registry?: RegistrySnapshot }> {
  const registry = await readRegistry(ctx, controlPlane);
  const versions: Catalog = [...(registry?.versions ?? [])];
  const key = (v: { name: string; version: string; schemaDigest: string }) =>
    `${v.name}@${v.version}|${v.schemaDigest}`;
  const byKey = new Map(versions.map((v) => [key(v), v]));
  const entries = (await store.list()).sort((a, b) => a.builtAt.getTime() - b.builtAt.getTime());
  for (const e of entries) {
    const ref = { digest: e.digest, pipeline: e.manifest.name, version: e.manifest.version };
    for (const [role, list] of [
      ['input', e.manifest.inputs],
      ['output', e.manifest.outputs],
    ] as const) {
      for (const d of list) {
        let v = byKey.get(key(d));
        if (v === undefined) {
          v = {
            name: d.name,
            version: d.version,
            major: parseVersion(d.version)?.[0] ?? 0,
            topic: d.topic,
            schema: d.schema,
            schemaDigest: d.schemaDigest,
            compatibility: d.compatibility ?? DEFAULT_COMPATIBILITY,
            firstSeenAt: e.builtAt.getTime(),
            firstSeenBy: ref,
            usedBy: [],
            retiredAt: null,
          };
          byKey.set(key(d), v);
          versions.push(v);
        }
        if (!v.usedBy.some((u) => u.digest === e.digest && u.role === role)) v.usedBy.push({ ...ref, role });
      }
    }
  }
  versions.sort((a, b) => a.name.localeCompare(b.name) || compareVersions(a.version, b.version));
  return { versions, ...(registry === undefined ? {} : { registry }) };
}

/** `orders@1.2.0` → name and version (version optional when `versionOptional`). */
function parseRef(ref: string, what: string): { name: string; version?: string } {
  const m = /^([a-z][a-z0-9_-]*)(?:@(.+))?$/.exec(ref.trim());
  if (m === null)
    throw new SlipwayError('SLIPWAY_USAGE', `${what} '${ref}' is not a dataset version like orders@1.2.0.`, {
      details: { ref },
    });
  return { name: m[1] as string, ...(m[2] === undefined ? {} : { version: m[2] }) };
}

function find(versions: Catalog, ref: string, what: string): DatasetVersionRecord {
  const { name, version } = parseRef(ref, what);
  const all = versions.filter((v) => v.name === name);
  const found = version === undefined ? all.at(-1) : all.filter((v) => v.version === version).at(-1);
  if (found === undefined) {
    throw new SlipwayError(
      'SLIPWAY_DATASET_NOT_FOUND',
      all.length === 0
        ? `No dataset '${name}' is known (the registry and the artifact store hold ${[...new Set(versions.map((v) => v.name))].join(', ') || 'none'}). Build a pipeline that declares it first.`
        : `No version ${version} of ${name} is known; known: ${all.map((v) => v.version).join(', ')}.`,
      { details: { dataset: name, version: version ?? null } },
    );
  }
  return found;
}

const day = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

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

export function registerDatasets(program: Command, ctx: CliContext): void {
  const storeOption = [
    '--store <dir>',
    `artifact store (default: $SLIPWAY_ARTIFACTS, else artifacts/ beside the log: ${DEFAULT_ARTIFACT_STORE_DIR})`,
  ] as const;
  const datasets = program
    .command('datasets')
    .description(
      'The dataset registry: every dataset version an artifact declared, its schema, mode, first sighting, who uses it and where; `datasets check` enforces the versioning strategy',
    )
    .option(...storeOption)
    .option('--control-plane <url>', 'the control plane whose registry to read (default: the project’s)')
    .option('--json', 'print JSON')
    .action(async (opts: { store?: string; controlPlane?: string; json?: boolean }) => {
      const { versions, registry } = await catalog(ctx, storeFromOption(ctx, opts.store), opts.controlPlane);
      const lineage = datasetLineage(versions, registry?.releases ?? []);
      const where = (v: DatasetVersionRecord, role: 'input' | 'output') => [
        ...new Set(
          lineage
            .filter((l) => l.name === v.name && l.version === v.version && l.role === role)
            .map((l) => l.environment),
        ),
      ];
      if (opts.json) {
        ctx.io.out(
          JSON.stringify(
            versions.map((v) => ({ ...v, producedIn: where(v, 'output'), consumedIn: where(v, 'input') })),
            null,
            2,
          ),
        );
        return;
      }
      if (versions.length === 0) {
        ctx.io.out('no dataset versions known yet: `slipway build <pipeline-file>` records those a pipeline declares');
        return;
      }
      printTable(
        ctx.io,
        ['DATASET', 'VERSION', 'TOPIC', 'MODE', 'SCHEMA', 'FIRST SEEN', 'BY', 'PRODUCED IN', 'CONSUMED IN'],
        versions.map((v) => [
          v.name,
          v.version,
          `${v.topic}${v.retiredAt === null ? '' : ' (retired)'}`,
          v.compatibility,
          shortDigest(v.schemaDigest),
          day(v.firstSeenAt),
          `${v.firstSeenBy.pipeline}@${v.firstSeenBy.version}`,
          where(v, 'output').join(',') || '-',
          where(v, 'input').join(',') || '-',
        ]),
      );
    });

  datasets
    .command('show')
    .description(
      'One dataset version: its schema, mode, first sighting, the artifacts that use it, and how it relates to the version before it',
    )
    .argument('<dataset@version>', 'e.g. orders@1.2.0 (the newest version when the version is left out)')
    .option(...storeOption)
    .option('--control-plane <url>', 'the control plane whose registry to read')
    .option('--json', 'print JSON')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as { store?: string; controlPlane?: string; json?: boolean };
      const { versions, registry } = await catalog(ctx, storeFromOption(ctx, opts.store), opts.controlPlane);
      const v = find(versions, ref, 'dataset');
      const previous = versions.filter(
        (p) => p.name === v.name && p.major === v.major && compareVersions(p.version, v.version) < 0,
      );
      const report = checkCompatibility(v.compatibility as CompatibilityMode, previous, v);
      const lineage = datasetLineage([v], registry?.releases ?? []);
      if (opts.json) {
        ctx.io.out(JSON.stringify({ ...v, lineage, compatibility: report }, null, 2));
        return;
      }
      ctx.io.out(
        `${v.name}@${v.version}  topic ${v.topic}${v.retiredAt === null ? '' : ` (retired ${day(v.retiredAt)})`}`,
      );
      ctx.io.out(`  mode        ${v.compatibility}`);
      ctx.io.out(`  schema      ${v.schemaDigest}`);
      ctx.io.out(
        `  first seen  ${day(v.firstSeenAt)} in ${v.firstSeenBy.pipeline}@${v.firstSeenBy.version} (${shortDigest(v.firstSeenBy.digest)})`,
      );
      for (const u of v.usedBy)
        ctx.io.out(
          `  ${u.role === 'output' ? 'written by' : 'read by   '}  ${u.pipeline}@${u.version} (${shortDigest(u.digest)})`,
        );
      for (const l of lineage)
        ctx.io.out(
          `  ${l.environment}: ${l.pipeline}@${l.pipelineVersion} ${l.role === 'output' ? 'produces' : 'consumes'} it`,
        );
      const prev = previous.at(-1);
      if (prev === undefined) ctx.io.out('  the first version of its major');
      else
        ctx.io.out(
          `  ${report.compatible ? '✓' : '✗'} ${v.compatibility}-compatible with ${report.checked
            .map((c) => c.version)
            .filter((x, i, a) => a.indexOf(x) === i)
            .join(
              ', ',
            )}${report.compatible ? '' : `:\n${report.incompatibilities.map(formatIncompatibility).join('\n')}`}`,
        );
      ctx.io.out(JSON.stringify(v.schema, null, 2));
    });

  datasets
    .command('diff')
    .description(
      'What changed between two dataset versions, and whether it is compatible each way (backward, forward, full) — which bump it needs',
    )
    .argument('<from>', 'e.g. orders@1.1.0')
    .argument('<to>', 'e.g. orders@1.2.0, or just 1.2.0')
    .option(...storeOption)
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

  datasets
    .command('check')
    .description(
      'Enforce the versioning strategy in CI: build each pipeline (without storing it) and refuse a missing or wrong version bump against the artifact store, the control plane’s registry, and the last release in git',
    )
    .argument('<pipeline-files...>', 'modules exporting the pipelines to check')
    .option('--pipeline <name>', 'which pipeline, when a file exports several')
    .option('--against <git-ref>', 'the last release in git (default without a control plane: the newest tag)')
    .option(...storeOption)
    .option('--control-plane <url>', 'the control plane whose registry to check against')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      "\nA patch may not change a schema; a minor must be compatible with the earlier versions of its major under the\ndataset's mode (backward by default); a major may change anything (it is a new topic). A pipeline version names one code.\nExit 1 with SLIPWAY_VERSION_NOT_BUMPED or SLIPWAY_WRONG_BUMP, each incompatibility with its path, change, whom it breaks and a fix.",
    )
    .action(async (files: string[], _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as {
        pipeline?: string;
        against?: string;
        store?: string;
        controlPlane?: string;
        json?: boolean;
      };
      const store = storeFromOption(ctx, opts.store);
      const results: Array<{
        file: string;
        pipeline: string;
        version: string;
        problems: VersionProblem[];
        sources: string[];
        datasets: string[];
      }> = [];
      let extra: Known = { datasets: [], pipelines: [] };
      for (const file of files) {
        const built = await buildArtifact({
          entry: file,
          store,
          dryRun: true,
          ...(opts.pipeline === undefined ? {} : { pipeline: opts.pipeline }),
        });
        const { problems, sources } = await checkAgainstKnown(ctx, {
          manifest: built.manifest,
          store,
          entry: file,
          extra,
          ...(opts.pipeline === undefined ? {} : { pipeline: opts.pipeline }),
          ...(opts.against === undefined ? {} : { against: opts.against }),
          ...(opts.controlPlane === undefined ? {} : { controlPlane: opts.controlPlane }),
        });
        // Files checked together must agree with each other too.
        extra = mergeKnown(extra, knownFromManifest(built.manifest, file));
        results.push({
          file,
          pipeline: built.manifest.name,
          version: built.manifest.version,
          problems,
          sources,
          datasets: [
            ...new Set([...built.manifest.inputs, ...built.manifest.outputs].map((d) => `${d.name}@${d.version}`)),
          ],
        });
      }
      if (opts.json) ctx.io.out(JSON.stringify(results, null, 2));
      else
        for (const r of results) {
          ctx.io.out(
            `${r.problems.length === 0 ? '✓' : '✗'} ${r.file}: ${r.pipeline}@${r.version} (${r.datasets.join(', ')})`,
          );
          ctx.io.out(`  checked against ${r.sources.join(', ')}`);
          if (r.problems.length > 0) ctx.io.out(formatVersionProblems(r.problems).replace(/^/gm, '  '));
        }
      const all = results.flatMap((r) => r.problems);
      const first = all[0];
      if (first !== undefined)
        throw new SlipwayError(
          first.code,
          `${all.length} version problem${all.length === 1 ? '' : 's'}: ${all.map((p) => `${p.subject} ${p.name}@${p.version} (${p.reason}, use ${p.suggest})`).join('; ')}.`,
          { details: { problems: all.map(({ message: _m, ...p }) => p) } },
        );
    });

  datasets
    .command('lineage')
    .description('Who produces and consumes each major of a dataset in each environment (the released pipelines)')
    .argument('<dataset>', 'e.g. orders')
    .option(...storeOption)
    .option('--control-plane <url>', 'the control plane whose registry to read')
    .option('--json', 'print JSON')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as { store?: string; controlPlane?: string; json?: boolean };
      const { versions, registry } = await catalog(ctx, storeFromOption(ctx, opts.store), opts.controlPlane);
      if (!versions.some((v) => v.name === name)) find(versions, name, 'dataset');
      const lineage = datasetLineage(versions, registry?.releases ?? [], name);
      if (opts.json) {
        ctx.io.out(JSON.stringify(lineage, null, 2));
        return;
      }
      const majors = [...new Set(versions.filter((v) => v.name === name).map((v) => v.major))];
      const rows = majors.flatMap((m) => {
        const entries = lineage.filter((l) => l.major === m);
        const retired = versions.find((v) => v.name === name && v.major === m)?.retiredAt ?? null;
        if (entries.length === 0)
          return [[`${name}.v${m}`, '-', retired === null ? 'nobody (released)' : 'retired', '-', '-']];
        return entries.map((l) => [
          l.topic,
          l.environment,
          l.role === 'output' ? 'produces' : 'consumes',
          `${l.pipeline}@${l.pipelineVersion}`,
          l.version,
        ]);
      });
      printTable(ctx.io, ['TOPIC', 'ENVIRONMENT', 'ROLE', 'PIPELINE', 'AS VERSION'], rows);
    });

  datasets
    .command('retire')
    .description(
      'Retire a major of a dataset: refused while any released pipeline reads or writes it; then nothing may be deployed against it',
    )
    .argument('<dataset@major>', 'e.g. orders@1')
    .option('--control-plane <url>', 'the control plane')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as { controlPlane?: string };
      const m = /^([a-z][a-z0-9_-]*)@v?(\d+)$/.exec(ref.trim());
      if (m === null)
        throw new SlipwayError('SLIPWAY_USAGE', `'${ref}' is not a dataset major like orders@1.`, { details: { ref } });
      const [name, major] = [m[1] as string, Number(m[2])];
      let client: ControlPlaneClient | undefined;
      try {
        client = ControlPlaneClient.find(ctx.stateDir(), opts.controlPlane);
      } catch (err) {
        if (!isSlipwayError(err, 'SLIPWAY_DAEMON_UNAVAILABLE')) throw err;
      }
      if (client !== undefined) await client.retireDataset(name, major);
      else {
        const path = resolve(ctx.stateDir(), 'control.db');
        if (!existsSync(path))
          throw new SlipwayError(
            'SLIPWAY_DATASET_NOT_FOUND',
            `No control plane and no registry at ${path}: retiring needs the registry (\`slipway up\`, or --control-plane <url>).`,
            { details: { dataset: name, major } },
          );
        const store = await openSqliteControlStore({ path });
        try {
          await retireDatasetMajor(store, name, major);
        } finally {
          await store.close();
        }
      }
      ctx.io.out(`retired ${name}.v${major}`);
    });

  datasets
    .command('migrate')
    .description(
      'Move a dataset to a new major without a flag day: run its upcast bridge (or --down, its downcast bridge) as an ordinary pipeline that fills the new topic from the old one, history first, then live — deployed to the control plane, or with --until-caught-up run here once',
    )
    .argument('<dataset>', 'e.g. orders')
    .requiredOption('--to <major>', 'the major to bridge into (its definition declares upcast)')
    .option('--down', 'the downcast bridge: from the new major back into the one it upcasts from')
    .option('--datasets <module>', 'module exporting the datasets (default: datasets.ts)', 'datasets.ts')
    .option(
      '--until-caught-up',
      'run the bridge here, once, until it has carried every record there is (no control plane)',
    )
    .option('--allow-untested', 'deploy the bridge without a test report (a local control plane only)')
    .option('--control-plane <url>', 'the control plane')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as {
        to: string;
        down?: boolean;
        datasets: string;
        untilCaughtUp?: boolean;
        allowUntested?: boolean;
        controlPlane?: string;
        store?: string;
      };
      const major = Number(String(opts.to).replace(/^v/, ''));
      if (!Number.isInteger(major) || major < 1)
        throw new SlipwayError('SLIPWAY_USAGE', `--to must be a major version like 2, got '${opts.to}'.`);
      const module = resolve(opts.datasets);
      if (!existsSync(module))
        throw new SlipwayError(
          'SLIPWAY_FILE_NOT_FOUND',
          `${opts.datasets} does not exist: pass --datasets <module exporting ${name}@${major}>.`,
        );
      const direction = opts.down ? 'down' : 'up';
      const dir = join(dirname(module), '.slipway', 'bridges');
      await mkdir(dir, { recursive: true });
      const entry = join(dir, `${name}-v${major}-${direction}.ts`);
      const from = relative(dir, module).split('\\').join('/').replace(/\.ts$/, '.js');
      await writeFile(
        entry,
        [
          '// Written by `slipway datasets migrate`: the bridge of a dataset between two majors.',
          "import { bridgePipeline, isDataset } from 'slipway';",
          `import * as datasets from '${from.startsWith('.') ? from : `./${from}`}';`,
          `const target = Object.values(datasets).find((d) => isDataset(d) && d.name === ${JSON.stringify(name)} && d.major === ${major});`,
          `if (target === undefined) throw new Error(${JSON.stringify(`${opts.datasets} exports no ${name} of major ${major}`)});`,
          `export const bridge = bridgePipeline(target, '${direction}');`,
          '',
        ].join('\n'),
      );
      const store = storeFromOption(ctx, opts.store);
      const built = await buildArtifact({ entry, store, cwd: dirname(module) });
      const m = built.manifest;
      ctx.io.err(
        `bridge ${m.name}@${m.version} ${shortDigest(built.digest)}: ${m.inputs[0]?.topic} → ${m.outputs[0]?.topic}`,
      );
      if (opts.untilCaughtUp) {
        const log = await ctx.openLog();
        try {
          const loaded = await store.load(built.digest);
          for (const d of [...loaded.pipeline.inputs, ...loaded.pipeline.outputs])
            if ((await log.describeTopic(d.topic)) === undefined)
              await log.createTopic(d.topic, { partitions: d.partitions });
          const result = await runPipeline({ pipeline: loaded.pipeline, log, until: 'caught-up' });
          ctx.io.out(
            `carried ${result.outputs} record${result.outputs === 1 ? '' : 's'} from ${m.inputs[0]?.topic} to ${m.outputs[0]?.topic} (${result.inputs} read, ${result.dlq} dead-lettered)`,
          );
        } finally {
          await log.close();
        }
        return;
      }
      const client = ControlPlaneClient.find(ctx.stateDir(), opts.controlPlane);
      if (!(await client.hasArtifact(built.digest)))
        await client.uploadArtifact(m, await readFile(join(built.dir, BUNDLE_FILE)));
      const deployment = await client.deploy({
        artifact: built.digest,
        ...(opts.allowUntested ? { allowUntested: true } : {}),
      });
      ctx.io.err(`deploying the bridge: ${deployment.id}`);
      await follow(ctx, client, deployment.id);
    });
}
