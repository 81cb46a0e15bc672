import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SlipwayError } from '../errors.js';

export type CiProvider = 'github' | 'gitlab';
export const CI_PROVIDERS: readonly CiProvider[] = ['github', 'gitlab'] as const;

export interface CiWorkflowOptions {
  provider: CiProvider;
  /** The pipeline module the artifact is built from (default `pipeline.ts`). */
  entry?: string;
  /** Node's major version CI runs (default 20). */
  node?: number;
  /** The grace period of the broken-main guard (default `10m`). */
  grace?: string;
}

/** Where each provider reads its workflow, relative to the project. */
export function ciWorkflowPath(provider: CiProvider): string {
  return provider === 'github' ? '.github/workflows/slipway.yml' : '.gitlab-ci.yml';
}

const BEGIN = (region: string) => `# >>> slipway ci generate: ${region} (regenerated; edit outside these marks)`;
const END = (region: string) => `# <<< slipway ci generate: ${region}`;

function region(name: string, indent: string, body: string): string {
  const lines = body.replace(/\n$/, '').split('\n');
  return [
    `${indent}${BEGIN(name)}`,
    ...lines.map((l) => (l === '' ? '' : `${indent}${l}`)),
    `${indent}${END(name)}`,
  ].join('\n');
}

/** The shell steps CI runs, in order, in the project (also what a test runs to prove the workflow). */
export function ciSteps(options: CiWorkflowOptions): Array<{ name: string; run: string }> {
  const entry = options.entry ?? 'pipeline.ts';
  return [
    { name: 'Install', run: 'npm ci' },
    { name: 'Lint', run: 'npx biome ci .' },
    { name: 'Type check', run: 'npx tsc --noEmit -p .' },
    { name: 'Secret scan (whole tree)', run: 'npx slipway secrets scan' },
    {
      name: 'Build the artifact once',
      run: `npx slipway build ${entry} --json > .slipway-build.json\nnode -p "require('./.slipway-build.json').digest" > .slipway-digest\nnode -p "require('./.slipway-build.json').manifest.name" > .slipway-pipeline\necho "artifact $(cat .slipway-pipeline) $(cat .slipway-digest)"`,
    },
    {
      name: 'Unit, integration and end-to-end tests, report bound to the digest',
      run: 'npx slipway test --artifact "$(cat .slipway-digest)"',
    },
  ];
}

function githubSteps(options: CiWorkflowOptions): string {
  const node = options.node ?? 20;
  const steps = ciSteps(options)
    .map((s) =>
      s.run.includes('\n')
        ? `- name: ${s.name}\n  run: |\n${s.run
            .split('\n')
            .map((l) => `    ${l}`)
            .join('\n')}`
        : `- name: ${s.name}\n  run: ${quoteYaml(s.run)}`,
    )
    .join('\n');
  return `- uses: actions/checkout@v4
  with:
    fetch-depth: 0
- uses: actions/setup-node@v4
  with:
    node-version: ${node}
    cache: npm
${steps}
- name: Keep the artifact and its test report
  uses: actions/upload-artifact@v4
  with:
    name: slipway-release
    path: |
      .slipway-digest
      .slipway-pipeline
      .slipway/artifacts
      .slipway/control.db
    include-hidden-files: true
`;
}

function quoteYaml(text: string): string {
  return /[:#"'{}[\],&*?|<>=!%@`]/.test(text) ? `'${text.replaceAll("'", "''")}'` : text;
}

/**
 * The command that moves the tested digest into an environment: dev takes it directly; staging and prod get it by
 * promotion, under their rules (verified and soaked upstream, approved, tested), never by a plain deploy.
 */
function promoteCommand(env: string): string {
  return env === 'dev'
    ? 'npx slipway --env dev deploy "$(cat .slipway-digest)"'
    : `npx slipway promote "$(cat .slipway-pipeline)" --to ${env} --digest "$(cat .slipway-digest)"`;
}

function githubPromote(env: string, needs: string, node: number): string {
  return `promote-${env}:
  if: github.event_name == 'push' && github.ref == 'refs/heads/main'
  needs: ${needs}
  runs-on: ubuntu-latest
  environment: ${env}
  steps:
    - uses: actions/checkout@v4
    - uses: actions/setup-node@v4
      with:
        node-version: ${node}
        cache: npm
    - run: npm ci
    - uses: actions/download-artifact@v4
      with:
        name: slipway-release
    - name: ${env === 'dev' ? 'Deploy the tested digest to dev' : `Promote the digest verified upstream into ${env}`}
      run: ${quoteYaml(promoteCommand(env))}
`;
}

function github(options: CiWorkflowOptions): Record<string, string> {
  const node = options.node ?? 20;
  const grace = options.grace ?? '10m';
  const indent = (text: string, n: number) =>
    text
      .split('\n')
      .map((l) => (l === '' ? '' : ' '.repeat(n) + l))
      .join('\n');
  const jobs = `verify:
  runs-on: ubuntu-latest
  services:
    kafka:
      image: apache/kafka:3.9.0
      ports: ['9092:9092']
  env:
    KAFKA_BROKERS: 127.0.0.1:9092
  steps:
${indent(githubSteps(options), 4)}
guard:
  # The broken-main policy: a red main that is not fixed within the grace period is reverted.
  if: failure() && github.event_name == 'push' && github.ref == 'refs/heads/main'
  needs: verify
  runs-on: ubuntu-latest
  permissions:
    contents: write
  steps:
    - uses: actions/checkout@v4
      with:
        fetch-depth: 0
    - uses: actions/setup-node@v4
      with:
        node-version: ${node}
        cache: npm
    - run: npm ci
    - name: Fix or revert within ${grace}
      run: |
        git config user.name "slipway-guard"
        git config user.email "slipway-guard@users.noreply.github.com"
        npx slipway ci guard --grace ${grace} --test "npm test" --push
${githubPromote('dev', 'verify', node)}${githubPromote('staging', 'promote-dev', node)}${githubPromote('prod', 'promote-staging', node)}`;
  return { jobs: jobs.replace(/\n$/, '') };
}

function gitlab(options: CiWorkflowOptions): Record<string, string> {
  const node = options.node ?? 20;
  const grace = options.grace ?? '10m';
  const script = ciSteps(options)
    .flatMap((s) => [`# ${s.name}`, ...s.run.split('\n')])
    .map((l) => (l.startsWith('# ') ? `    ${l}` : `    - ${quoteYaml(l)}`))
    .join('\n');
  const promote = (env: string, needs: string, manual: boolean) => `promote-${env}:
  stage: promote
  needs: [${needs}]
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH${manual ? '\n      when: manual' : ''}
  environment: { name: ${env} }
  script:
    - npm ci
    - ${quoteYaml(promoteCommand(env))}
`;
  const jobs = `stages: [verify, guard, promote]
default:
  image: node:${node}
verify:
  stage: verify
  services:
    - name: apache/kafka:3.9.0
      alias: kafka
  variables:
    KAFKA_BROKERS: kafka:9092
  script:
${script.replace(/^ {4}/gm, '    ')}
  artifacts:
    paths: [.slipway-digest, .slipway-pipeline, .slipway/artifacts, .slipway/control.db]
guard:
  stage: guard
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: on_failure
  script:
    - npm ci
    - npx slipway ci guard --grace ${grace} --test "npm test" --push
${promote('dev', 'verify', false)}${promote('staging', 'verify, promote-dev', false)}${promote('prod', 'verify, promote-staging', true)}`;
  return { jobs: jobs.replace(/\n$/, '') };
}

function skeleton(provider: CiProvider, regions: Record<string, string>): string {
  if (provider === 'github')
    return `# Generated by \`slipway ci generate --provider github\`. Hand edits outside the marked regions survive
# regeneration; the regions are rewritten. Promotion: dev → staging → prod (give the prod environment
# required reviewers in the repository's settings: that is its approval).
name: slipway
on:
  push:
    branches: [main]
  pull_request:
jobs:
${region('jobs', '  ', regions.jobs ?? '')}
`;
  return `# Generated by \`slipway ci generate --provider gitlab\`. Hand edits outside the marked regions survive
# regeneration; the regions are rewritten. prod is promoted by hand (when: manual): that is its approval.
${region('jobs', '', regions.jobs ?? '')}
`;
}

/**
 * The CI workflow text: install, lint, type check, secret scan, build once, the unit, integration and
 * end-to-end suites with the report bound to the digest, then that digest promoted dev → staging → prod
 * (prod behind an approval), and the broken-main guard. With `existing` (the file as it is now), only the
 * marked regions are rewritten: hand edits outside them are kept, and regenerating changes nothing.
 *
 * @example
 * writeFileSync('.github/workflows/slipway.yml', generateCiWorkflow({ provider: 'github' }))
 */
export function generateCiWorkflow(options: CiWorkflowOptions, existing?: string): string {
  const regions = options.provider === 'github' ? github(options) : gitlab(options);
  if (existing === undefined) return skeleton(options.provider, regions);
  let out = existing;
  let found = 0;
  for (const [name, body] of Object.entries(regions)) {
    const pattern = new RegExp(
      `^([ \\t]*)${escapeRegExp(BEGIN(name))}\\n[\\s\\S]*?^[ \\t]*${escapeRegExp(END(name))}$`,
      'm',
    );
    const match = pattern.exec(out);
    if (match === null) continue;
    found++;
    out = out.slice(0, match.index) + region(name, match[1] ?? '', body) + out.slice(match.index + match[0].length);
  }
  if (found === 0)
    throw new SlipwayError(
      'SLIPWAY_SCAFFOLD_CONFLICT',
      `the workflow has none of slipway's marked regions ("${BEGIN('jobs')}"), so regenerating would lose what is there. Move it aside and generate again, or add the marks around the part Slipway owns.`,
    );
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Writes (or regenerates) the workflow file in `dir`; returns its path and whether it changed. */
export function writeCiWorkflow(dir: string, options: CiWorkflowOptions): { path: string; changed: boolean } {
  const path = join(resolve(dir), ciWorkflowPath(options.provider));
  const before = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  const text = generateCiWorkflow(options, before);
  if (text !== before) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return { path, changed: text !== before };
}
