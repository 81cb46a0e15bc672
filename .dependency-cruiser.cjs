// The layering of src/, checked in CI (`npm run lint:layers`); `npm run deps:report` prints the folder graph.
// Each folder may import only the folders below it (the table is the ARCHITECTURE picture, bottom up):
//   errors ← dataset ← toggles ← pipeline ← runtime ← supervisor ← deploy ← environment ← control ← cli
//   dataset ← datastore ← pipeline, runtime (tables are declared beside datasets; a pipeline may write one);
//   log ← topics ← runtime (a runner creates its topics as declared);  artifact ← supervisor, deploy;
//   samples ← deploy;  environment ← project ← cli, testing (a project file declares environments)
// Library code never imports cli/, and no two modules import each other in a cycle.
const LAYERS = {
  dataset: [],
  // tables and their migrations, declared beside datasets; a pipeline may write to a table (a sink)
  datastore: ['dataset'],
  // the developer's workflow (secret scanning, scaffolds, CI, the broken-main guard): knows no pipeline
  workflow: [],
  log: [],
  toggles: ['dataset', 'log'],
  pipeline: ['datastore', 'dataset', 'toggles'],
  runtime: ['pipeline', 'toggles', 'datastore', 'dataset', 'log', 'topics'],
  artifact: ['pipeline', 'toggles', 'datastore', 'dataset'],
  samples: ['dataset', 'log'],
  topics: ['dataset', 'log'],
  project: [
    'environment',
    'deploy',
    'supervisor',
    'runtime',
    'artifact',
    'topics',
    'samples',
    'pipeline',
    'toggles',
    'datastore',
    'dataset',
    'log',
  ],
  supervisor: ['runtime', 'artifact', 'pipeline', 'toggles', 'datastore', 'dataset', 'log'],
  deploy: [
    'supervisor',
    'runtime',
    'artifact',
    'samples',
    'topics',
    'pipeline',
    'toggles',
    'datastore',
    'dataset',
    'log',
  ],
  environment: [
    'deploy',
    'supervisor',
    'runtime',
    'artifact',
    'topics',
    'pipeline',
    'toggles',
    'datastore',
    'dataset',
    'log',
  ],
  control: [
    'environment',
    'deploy',
    'supervisor',
    'runtime',
    'artifact',
    'samples',
    'topics',
    'pipeline',
    'toggles',
    'datastore',
    'dataset',
    'log',
  ],
  testing: [
    'control',
    'environment',
    'deploy',
    'supervisor',
    'runtime',
    'artifact',
    'project',
    'samples',
    'topics',
    'pipeline',
    'toggles',
    'datastore',
    'dataset',
    'log',
  ],
};

const layerRules = Object.entries(LAYERS).map(([folder, allowed]) => ({
  name: `layer-${folder}`,
  comment: `src/${folder}/ may import only ${allowed.length ? allowed.map((a) => `${a}/`).join(', ') : 'nothing else in src/'} (and errors.ts)`,
  severity: 'error',
  from: { path: `^src/${folder}/` },
  to: {
    path: '^src/',
    pathNot: [`^src/(${[folder, ...allowed].join('|')})/`, '^src/errors\\.ts$'],
  },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-cli-in-library',
      comment: 'library code never imports the CLI',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'engines-behind-the-interface',
      comment: 'only the log folder itself, the CLI, testing and the public entry points open a log engine directly',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/(log|cli|testing)/', '^src/index\\.ts$'] },
      to: { path: '^src/log/(embedded|kafka|memory)/' },
    },
    {
      name: 'no-circular',
      comment:
        'no module is part of an import cycle (a type-only import of a neighbour to share its options type is not one)',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Tests and contract suites are test code: they may reach anything to set up what they check.
    exclude: { path: '(\\.test|contract)\\.ts$' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { conditionNames: ['slipway-source', 'import', 'node', 'default'] },
  },
};
