import type { Command } from 'commander';
import { DEFAULT_ARTIFACT_STORE_DIR } from '../../artifact/artifact-store.js';
import { ControlPlaneClient } from '../../control/client.js';
import { daemonPaths, readDaemonInfo } from '../../control/daemon.js';
import { openSqliteControlStore } from '../../control/sqlite-control-store.js';
import type { TestLayer, TestReport } from '../../deploy/test-report.js';
import { SlipwayError } from '../../errors.js';
import { describeLogConfig } from '../../log/open-log.js';
import { type ArtifactBinding, bindSourcesToArtifact } from '../../testing/bind-artifact.js';
import { runTestSuites, TEST_LAYERS } from '../../testing/test-suites.js';
import { TEST_LOG_VARIABLE } from '../../testing/with-test-log.js';
import { checkedBuild } from '../checked-build.js';
import type { CliContext } from '../context.js';
import { storeFromOption } from './artifacts.js';

interface TestOptions {
  entry?: string;
  artifact?: string;
  build?: string;
  pipeline?: string;
  store?: string;
  layer?: string;
  json?: boolean;
  controlPlane?: string;
}

/**
 * Records the report where the release gate reads it: through the control plane's API when one runs
 * (`--control-plane`, else `$SLIPWAY_CONTROL_PLANE`, else this project's daemon, as `slipway deploy`
 * finds it), else in the local control store beside the log. Returns where it went: a URL or a path.
 */
async function recordReport(
  ctx: CliContext,
  report: TestReport,
  controlPlane: string | undefined,
): Promise<{ where: string; api: boolean }> {
  const dir = ctx.stateDir();
  const url = controlPlane ?? process.env.SLIPWAY_CONTROL_PLANE ?? readDaemonInfo(dir)?.url;
  if (url !== undefined) {
    await new ControlPlaneClient(url).putTestReport(report);
    return { where: url, api: true };
  }
  const path = daemonPaths(dir).controlPath;
  const control = await openSqliteControlStore({ path });
  try {
    await control.putTestReport(report);
  } finally {
    await control.close();
  }
  return { where: path, api: false };
}

function parseLayers(value: string | undefined): TestLayer[] {
  if (value === undefined) return [...TEST_LAYERS];
  const layers = value
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const l of layers) {
    if (!(TEST_LAYERS as readonly string[]).includes(l)) {
      throw new SlipwayError('SLIPWAY_USAGE', `--layer: '${l}' is not a layer; use ${TEST_LAYERS.join(', ')}.`);
    }
  }
  return layers as TestLayer[];
}

export function registerTest(program: Command, ctx: CliContext): void {
  program
    .command('test')
    .description(
      "Run the project's tests (unit *.test.ts, test/integration, test/e2e) and record a report bound to an artifact digest",
    )
    .option('--artifact <digest>', 'the artifact the report is for (digest or unique prefix)')
    .option('--build <pipeline-file>', 'build this pipeline into an artifact first, and report for its digest')
    .option('--pipeline <name>', 'which pipeline, when the file exports several')
    .option(
      '--entry <pipeline-file>',
      'with --artifact: the module the artifact was built from (default: as its manifest records it)',
    )
    .option(
      '--store <dir>',
      `artifact store (default: $SLIPWAY_ARTIFACTS, else artifacts/ beside the log: ${DEFAULT_ARTIFACT_STORE_DIR})`,
    )
    .option('--layer <layers>', `layers to run, comma-separated (default: ${TEST_LAYERS.join(',')})`)
    .option('--json', 'print the report as JSON')
    .option(
      '--control-plane <url>',
      'control plane to record the report in (default: the daemon of this project if one runs, else the local control store)',
    )
    .action(async (opts: TestOptions) => {
      if (opts.artifact !== undefined && opts.build !== undefined) {
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          'Give either --artifact <digest> or --build <pipeline-file>, not both.',
        );
      }
      const layers = parseLayers(opts.layer);
      const store = storeFromOption(ctx, opts.store);
      // A report for digest D lets D through the release gate, so the tests must exercise exactly D's
      // code: the sources they import must build to D, before the tests run and still after.
      let binding: ArtifactBinding | undefined;
      if (opts.build !== undefined) {
        const built = await checkedBuild({
          entry: opts.build,
          store,
          ...(opts.pipeline === undefined ? {} : { pipeline: opts.pipeline }),
        });
        binding = { digest: built.digest, entry: opts.build, pipeline: built.manifest.name };
        ctx.io.err(`built ${built.manifest.name}@${built.manifest.version} ${built.digest}`);
      } else if (opts.artifact !== undefined) {
        binding = await bindSourcesToArtifact({
          store,
          digest: opts.artifact,
          cwd: process.cwd(),
          ...(opts.entry === undefined ? {} : { entry: opts.entry }),
        });
        ctx.io.err(`the sources here (${binding.entry}) build to ${binding.digest}: testing that artifact's code`);
      }
      const digest = binding?.digest;

      // With --env: the tests get the environment's log (withTestLog in slipway/testing runs there, each in a
      // namespace of its own), and commands they start resolve the same environment.
      const environment = ctx.environment();
      const project = ctx.project();
      if (environment !== undefined)
        ctx.io.err(`testing in ${environment.name}: ${describeLogConfig(environment.log)}`);
      const result = await runTestSuites({
        dir: process.cwd(),
        layers,
        ...(environment === undefined
          ? {}
          : {
              env: {
                SLIPWAY_ENV: environment.name,
                [TEST_LOG_VARIABLE]: JSON.stringify(environment.log),
                ...(project === undefined ? {} : { SLIPWAY_PROJECT: project.path }),
              },
            }),
        signal: ctx.interrupted,
        onEvent: (e) => {
          const label = e.layer.padEnd(12);
          if (e.type === 'layer-start') {
            ctx.io.err(`${label} ${e.files.length} file${e.files.length === 1 ? '' : 's'}…`);
          } else if (e.type === 'test') {
            // One line per finished test: a progress line is throttled (off a terminal) or overwritten (on one),
            // which showed only the first test or only the last.
            if (!e.ok && !e.skipped) ctx.io.err(`${label}   ✗ ${e.name}${e.file === null ? '' : ` (${e.file})`}`);
            else ctx.io.err(`${label}   ${e.skipped ? '-' : '✓'} ${e.name}`);
          } else {
            ctx.io.done();
            const r = e.result;
            ctx.io.err(
              `${label} ${r.failed === 0 ? 'pass' : 'FAIL'}: ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''} (${(e.durationMs / 1000).toFixed(1)} s)`,
            );
          }
        },
      });
      for (const f of result.failures) {
        if (f.message) ctx.io.err(`failed: ${f.name}${f.file === null ? '' : ` (${f.file})`}\n  ${f.message}`);
      }

      let recorded: { where: string; api: boolean } | undefined;
      if (binding !== undefined) {
        // Sources edited while the tests ran would make the report about code nobody tested.
        await bindSourcesToArtifact({ store, digest: binding.digest, cwd: process.cwd(), entry: binding.entry }).catch(
          (err: unknown) => {
            throw new SlipwayError(
              'SLIPWAY_TEST_BINDING',
              `The sources changed while the tests ran, so their report cannot be bound to ${binding?.digest}; nothing was recorded. Run the tests again. (${(err as Error).message})`,
              { cause: err },
            );
          },
        );
        const report: TestReport = {
          digest: binding.digest,
          ...result,
          binding: { method: 'rebuilt', entry: binding.entry },
        };
        try {
          recorded = await recordReport(ctx, report, opts.controlPlane);
        } catch (err) {
          if (!(err instanceof SlipwayError)) throw err;
          throw new SlipwayError(
            err.code,
            `The tests ${result.passed ? 'passed' : 'failed'}, but their report for ${digest} was not recorded: ${err.message}`,
            { cause: err, retryable: err.retryable, details: err.details },
          );
        }
      }
      if (opts.json) {
        ctx.io.out(
          JSON.stringify(
            { ...(digest === undefined ? {} : { digest }), ...result, recordedIn: recorded?.where },
            null,
            2,
          ),
        );
      } else {
        const total = TEST_LAYERS.reduce((n, l) => n + result.layers[l].passed + result.layers[l].failed, 0);
        const failed = result.failures.length;
        const verdict = result.passed ? `passed: ${total} tests` : `FAILED: ${failed} of ${total} tests`;
        if (digest === undefined) {
          ctx.io.out(verdict);
          ctx.io.err(
            'no artifact named, so no report was recorded: pass --artifact <digest> or --build <pipeline-file>',
          );
        } else {
          const where = recorded?.api ? `the control plane at ${recorded.where}` : recorded?.where;
          ctx.io.out(`${verdict}; report for ${digest} recorded in ${where}`);
        }
      }
      if (!result.passed) process.exitCode = 1;
    });
}
