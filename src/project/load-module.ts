import { existsSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importBundle } from '../artifact/import-bundle.js';
import { type Dataset, isDataset } from '../dataset/dataset.js';
import { isTable, type Table } from '../datastore/table.js';
import { isProject, type Project } from '../environment/project.js';
import { SlipwayError } from '../errors.js';
import { isPipeline, type Pipeline } from '../pipeline/pipeline.js';

/** What a user's module (a pipeline file or `slipway.config.ts`) exports that Slipway cares about. */
export interface LoadedModule {
  path: string;
  datasets: Dataset[];
  pipelines: Pipeline[];
  /** The tables it exports (made with `defineTable`), by name. */
  tables: Table[];
  /** The project (environments as code) it exports with `defineProject`, if any. */
  project?: Project;
}

/** Default project files, looked for in the working directory. */
export const PROJECT_FILES = ['slipway.config.ts', 'slipway.config.js', 'slipway.config.mjs'] as const;

/**
 * Loads a TypeScript or JavaScript module of the user's (through tsx, so `.ts` works without a build)
 * and collects the datasets and pipelines it exports, and those the pipelines use.
 */
export async function loadModule(file: string): Promise<LoadedModule> {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new SlipwayError('SLIPWAY_FILE_NOT_FOUND', `${file} does not exist (looked at ${path}).`, {
      details: { path },
    });
  }
  let exported: Record<string, unknown>;
  try {
    if (path.endsWith(`${sep}bundle.mjs`)) {
      // An artifact's bundle: imported so that its `import 'slipway'` gets this Slipway.
      exported = await importBundle(path);
    } else if (/\.[cm]?tsx?$/.test(path)) {
      const { tsImport } = await import('tsx/esm/api');
      exported = (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
    } else {
      exported = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    }
  } catch (err) {
    if (err instanceof SlipwayError) throw err;
    throw new SlipwayError('SLIPWAY_INVALID_DEFINITION', `Loading ${file} failed: ${(err as Error).message}`, {
      cause: err,
      details: { path },
    });
  }
  const pipelines = Object.values(exported).filter(isPipeline);
  const datasets = new Map<string, Dataset>();
  for (const value of Object.values(exported)) if (isDataset(value)) datasets.set(value.topic, value);
  for (const p of pipelines) for (const d of [...p.inputs, ...p.outputs]) datasets.set(d.topic, d);
  const projects = Object.values(exported).filter(isProject);
  if (projects.length > 1) {
    throw new SlipwayError(
      'SLIPWAY_INVALID_DEFINITION',
      `${file} exports ${projects.length} projects made with defineProject(); export one.`,
      { details: { path } },
    );
  }
  const project = projects[0];
  const tables = new Map<string, Table>();
  // A sink pipeline's table counts as declared even when the module does not export it by itself.
  const sinkTables = pipelines.flatMap((p) => (p.sink === undefined ? [] : [p.sink.table]));
  for (const value of [...Object.values(exported), ...sinkTables]) {
    if (!isTable(value)) continue;
    const other = tables.get(value.name);
    if (other !== undefined && other !== value)
      throw new SlipwayError(
        'SLIPWAY_INVALID_DEFINITION',
        `${file} exports two tables named '${value.name}'; export each table once.`,
        { details: { path, table: value.name } },
      );
    tables.set(value.name, value);
  }
  return {
    path,
    datasets: [...datasets.values()],
    pipelines,
    tables: [...tables.values()],
    ...(project === undefined ? {} : { project }),
  };
}

/** The project file: the one named, or the first default found in the working directory. */
export function findProjectFile(named: string | undefined): string {
  if (named !== undefined) return named;
  const found = PROJECT_FILES.find((f) => existsSync(resolve(f)));
  if (found === undefined) {
    throw new SlipwayError(
      'SLIPWAY_FILE_NOT_FOUND',
      `No project file here (looked for ${PROJECT_FILES.join(', ')}). Pass --project <file> naming a module that exports your datasets.`,
    );
  }
  return found;
}

/** Finds a dataset by logical name (`orders`), physical topic (`orders.v1`) or name@major. */
export function pickDataset(module: LoadedModule, name: string): Dataset {
  const matches = module.datasets.filter((d) => d.topic === name || d.name === name);
  if (matches.length === 1) return matches[0] as Dataset;
  const known = module.datasets.map((d) => d.topic).join(', ') || 'none';
  if (matches.length > 1) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `Dataset '${name}' is ambiguous in ${module.path}: ${matches.map((d) => d.topic).join(', ')}. Name the version, e.g. ${matches[0]?.topic}.`,
    );
  }
  throw new SlipwayError(
    'SLIPWAY_NOT_EXPORTED',
    `Dataset '${name}' is not exported by ${module.path} (it exports: ${known}).`,
    {
      details: { dataset: name, path: module.path },
    },
  );
}

/** Picks the pipeline to run: the only one, or the one named. */
export function pickPipeline(module: LoadedModule, name: string | undefined): Pipeline {
  if (module.pipelines.length === 0) {
    throw new SlipwayError(
      'SLIPWAY_NOT_EXPORTED',
      `${module.path} exports no pipeline. Export one made with definePipeline(), e.g. \`export const myPipeline = definePipeline({...})\`.`,
    );
  }
  if (name === undefined) {
    if (module.pipelines.length === 1) return module.pipelines[0] as Pipeline;
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `${module.path} exports ${module.pipelines.length} pipelines (${module.pipelines.map((p) => p.name).join(', ')}); choose one with --pipeline <name>.`,
    );
  }
  const found = module.pipelines.find((p) => p.name === name);
  if (found === undefined) {
    throw new SlipwayError(
      'SLIPWAY_NOT_EXPORTED',
      `Pipeline '${name}' is not exported by ${module.path} (it exports: ${module.pipelines.map((p) => p.name).join(', ')}).`,
    );
  }
  return found;
}
