import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SlipwayError } from '../errors.js';
import { ciWorkflowPath, generateCiWorkflow } from './ci-workflow.js';
import { HUSKY_PRE_COMMIT, HUSKY_PRE_PUSH } from './hooks.js';

/** The orders example shipped in the package: the scaffold's dataset, pipeline, tests and masked sample. */
const EXAMPLE = fileURLToPath(new URL('../../examples/orders/', import.meta.url));
const COPIED = [
  'datasets.ts',
  'pipeline.ts',
  'masking.ts',
  'pipeline.test.ts',
  'test/integration/runner.test.ts',
  'test/e2e/deploy.test.ts',
  'samples/orders.v1/default.jsonl',
  'samples/orders.v1/default.stats.json',
  'data/orders.jsonl',
];

/** Versions the scaffold pins its tools to: those that install and run on Node 20. */
export const SCAFFOLD_VERSIONS = {
  typebox: '^0.34.52',
  typescript: '^5.9.3',
  biome: '2.6.8',
  husky: '9.1.7',
  typesNode: '^20.19.43',
} as const;

export interface ScaffoldOptions {
  /** The folder to create the project in (made when missing; it must hold no file the scaffold writes). */
  dir: string;
  /** The package name (default: the folder's name). */
  name?: string;
  /**
   * How the project depends on Slipway, as package.json's dependency spec: a version range, a tarball
   * (`file:../slipway-0.1.0.tgz`) or a git URL. Default: this Slipway's version.
   */
  slipway?: string;
  /** The CI workflow to write: `github` (default), `gitlab` or `none`. */
  ci?: 'github' | 'gitlab' | 'none';
}

export interface ScaffoldResult {
  dir: string;
  /** The files written, relative to `dir`. */
  files: string[];
}

function slipwayVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function packageJson(name: string, slipway: string): string {
  return `${JSON.stringify(
    {
      name,
      version: '0.1.0',
      private: true,
      type: 'module',
      engines: { node: '>=20.11' },
      scripts: {
        prepare: 'husky',
        lint: 'biome check .',
        format: 'biome check --write .',
        typecheck: 'tsc --noEmit',
        secrets: 'slipway secrets scan',
        test: 'slipway test',
        'test:unit': 'slipway test --layer unit',
        'test:integration': 'slipway test --layer integration',
        'test:e2e': 'slipway test --layer e2e',
        build: 'slipway build pipeline.ts',
        'release:test': 'slipway test --build pipeline.ts',
      },
      dependencies: { '@sinclair/typebox': SCAFFOLD_VERSIONS.typebox, slipway },
      // npm asks before running install scripts: these build Slipway (from git), its SQLite engine and esbuild.
      allowScripts: { slipway: true, 'better-sqlite3': true, esbuild: true },
      devDependencies: {
        '@biomejs/biome': SCAFFOLD_VERSIONS.biome,
        '@types/node': SCAFFOLD_VERSIONS.typesNode,
        husky: SCAFFOLD_VERSIONS.husky,
        typescript: SCAFFOLD_VERSIONS.typescript,
      },
    },
    null,
    2,
  )}\n`;
}

const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      noEmit: true,
      resolveJsonModule: true,
      verbatimModuleSyntax: true,
    },
    include: ['*.ts', 'test/**/*.ts'],
  },
  null,
  2,
)}\n`;

// As Biome itself formats it (its own config is always checked).
const BIOME = `{
  "$schema": "./node_modules/@biomejs/biome/configuration_schema.json",
  "vcs": {
    "enabled": true,
    "clientKind": "git",
    "useIgnoreFile": true
  },
  "files": {
    "includes": ["**/*.ts"]
  },
  "formatter": {
    "enabled": true,
    "indentStyle": "space",
    "indentWidth": 2,
    "lineWidth": 120
  },
  "javascript": {
    "formatter": {
      "quoteStyle": "single"
    }
  },
  "linter": {
    "enabled": true,
    "rules": {
      "preset": "recommended",
      "style": {
        "noNonNullAssertion": "off"
      }
    }
  }
}
`;

const GITIGNORE = `node_modules/
dist/
.slipway/
.slipway-digest
*.log
.env
.env.*
!.env.example
`;

const ENV_EXAMPLE = `# Copy to .env (never committed) for local runs against a cluster.
KAFKA_BROKERS=127.0.0.1:9092
# KAFKA_SASL_PASSWORD is read from your secret store in staging and prod, never written here.
`;

const CONFIG = `// The project file the CLI reads: the project's datasets and pipelines, and its environments.
import { defineProject } from 'slipway';

export { enrichedOrders, orders } from './datasets.js';
export { ordersMasking } from './masking.js';
export { enrichOrders } from './pipeline.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** local and dev on the embedded log; staging and prod on Kafka, each promoted from the one before, prod behind an approval. */
export const project = defineProject({
  environments: {
    local: { log: { engine: 'embedded' }, allowUntested: true },
    dev: { log: { engine: 'embedded' } },
    staging: { log: { engine: 'kafka', brokers }, topicPrefix: 'staging.', promotion: { from: 'dev' } },
    prod: {
      log: { engine: 'kafka', brokers },
      topicPrefix: 'prod.',
      promotion: { from: 'staging', soak: '10m', approval: true },
    },
  },
});
`;

function readme(name: string): string {
  return `# ${name}

A streaming data pipeline delivered with [Slipway](https://github.com/slipway): orders → enriched orders.

| file | what |
|---|---|
| \`datasets.ts\` | the datasets (TypeBox schemas, versioned) |
| \`pipeline.ts\` | the pipeline |
| \`slipway.config.ts\` | the project: datasets, pipelines and the environments local, dev, staging, prod |
| \`pipeline.test.ts\` | unit tests, beside the pipeline, on the masked sample in \`samples/\` |
| \`test/integration/\`, \`test/e2e/\` | a real log; a real control plane deploying the artifact |
| \`secrets-allow.json\` | (when needed) findings of the secret scan allowed by fingerprint, each with a reason |

## First steps

\`\`\`sh
npm install                        # also installs the git hooks (husky)
npm test                           # unit, integration and end-to-end tests
npx slipway build pipeline.ts      # type-check, scan for secrets, bundle: prints the artifact's digest
npx slipway produce orders --file data/orders.jsonl && npx slipway run pipeline.ts --until-idle
npx slipway tail enriched-orders.v1
\`\`\`

## The workflow

- Commit to main at least daily (trunk-based); keep changes small.
- **pre-commit** (\`.husky/pre-commit\`): Biome on the staged files, a secret scan of the staged files, the type check.
- **pre-push** (\`.husky/pre-push\`): the unit and integration tests.
- **CI** (\`${ciWorkflowPath('github')}\`, made by \`npx slipway ci generate\`): lint, secret scan, all tests, one
  build, the test report bound to the artifact's digest, and that digest promoted dev → staging → prod.
- **Broken main**: CI runs \`slipway ci guard --grace 10m --test "npm test"\`; a red main not fixed within ten
  minutes is reverted.
- A secret-scan finding that is not a secret: add \`{"fingerprint": "…", "reason": "…"}\` to \`secrets-allow.json\`.
`;
}

/**
 * Writes a new Slipway project into `dir`: package.json depending on Slipway and TypeBox, tsconfig, Biome,
 * slipway.config.ts with environments local/dev/staging/prod, one dataset pair and pipeline, unit,
 * integration and end-to-end tests, a masked sample, a README, .gitignore, husky hooks and a CI workflow.
 * Refuses (`SLIPWAY_SCAFFOLD_CONFLICT`) when any of those files exists; writes nothing then.
 *
 * @example
 * scaffoldProject({ dir: 'my-pipelines', slipway: 'file:../slipway-0.1.0.tgz' })
 */
export function scaffoldProject(options: ScaffoldOptions): ScaffoldResult {
  const dir = resolve(options.dir);
  const name = (options.name ?? basename(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
  const files = new Map<string, string>([
    ['package.json', packageJson(name, options.slipway ?? `^${slipwayVersion()}`)],
    ['tsconfig.json', TSCONFIG],
    ['biome.json', BIOME],
    ['.gitignore', GITIGNORE],
    ['.env.example', ENV_EXAMPLE],
    ['slipway.config.ts', CONFIG],
    ['README.md', readme(name)],
    ['.husky/pre-commit', HUSKY_PRE_COMMIT],
    ['.husky/pre-push', HUSKY_PRE_PUSH],
  ]);
  for (const rel of COPIED) files.set(rel, readFileSync(join(EXAMPLE, rel), 'utf8'));
  const ci = options.ci ?? 'github';
  if (ci !== 'none') files.set(ciWorkflowPath(ci), generateCiWorkflow({ provider: ci }));

  const existing = [...files.keys()].filter((rel) => existsSync(join(dir, rel)));
  if (existing.length > 0)
    throw new SlipwayError(
      'SLIPWAY_SCAFFOLD_CONFLICT',
      `${dir} already has ${existing.join(', ')}; nothing was written. Run slipway init in a new or empty folder.`,
      { details: { dir, existing } },
    );
  for (const [rel, content] of files) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content, rel.startsWith('.husky/') ? { mode: 0o755 } : {});
  }
  return { dir, files: [...files.keys()].sort() };
}
