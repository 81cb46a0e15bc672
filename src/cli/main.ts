import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { registerArtifacts } from './commands/artifacts.js';
import { registerBuild } from './commands/build.js';
import { registerCi } from './commands/ci.js';
import { registerDaemon } from './commands/daemon.js';
import { registerDatasets } from './commands/datasets.js';
import { registerDatastores } from './commands/datastores.js';
import { registerDemo } from './commands/demo.js';
import { registerDeploy } from './commands/deploy.js';
import { isDlqCommand, registerDlq } from './commands/dlq.js';
import { registerEnv } from './commands/env.js';
import { registerInit } from './commands/init.js';
import { registerKafka } from './commands/kafka.js';
import { registerObservability } from './commands/observability.js';
import { registerProduce } from './commands/produce.js';
import { registerPromote } from './commands/promote.js';
import { registerRun } from './commands/run.js';
import { registerSample } from './commands/sample.js';
import { registerSecrets } from './commands/secrets.js';
import { registerStatus } from './commands/status.js';
import { registerTail } from './commands/tail.js';
import { registerTest } from './commands/test.js';
import { registerToggle } from './commands/toggle.js';
import { registerTopics } from './commands/topics.js';
import { registerWorkspace } from './commands/workspace.js';
import { createContext } from './context.js';
import { type Io, processIo, reportError } from './io.js';
import { addKafkaSecurityOptions } from './kafka-security-options.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Runs the CLI with `argv` (as in process.argv) and resolves with the exit code.
 * Each command lives in `commands/<name>.ts` and registers itself on the program.
 */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const interrupt = new AbortController();
  const onSignal = (): void => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const program = new Command('slipway')
    .description('Continuous delivery for streaming data pipelines')
    .version(version())
    .option('--log <path>', 'embedded log file (default: $SLIPWAY_LOG or .slipway/log.db)')
    .option(
      '--kafka <brokers>',
      'use the Kafka cluster at host:port[,host:port…] instead of the embedded log (default: $SLIPWAY_KAFKA_BROKERS)',
    )
    .option(
      '--env <name>',
      'run against this environment of the project (default: $SLIPWAY_ENV): its log, namespace and config',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  addKafkaSecurityOptions(program);
  if (isDlqCommand(argv)) program.enablePositionalOptions();
  const ctx = createContext(program, io, interrupt.signal);
  registerBuild(program, ctx);
  registerArtifacts(program, ctx);
  registerDatasets(program, ctx);
  registerDatastores(program, ctx);
  registerProduce(program, ctx);
  registerRun(program, ctx);
  registerSample(program, ctx);
  registerTail(program, ctx);
  registerTest(program, ctx);
  registerTopics(program, ctx);
  registerDaemon(program, ctx);
  registerDeploy(program, ctx);
  registerStatus(program, ctx);
  registerPromote(program, ctx);
  registerDlq(program, ctx);
  registerDemo(program, ctx);
  registerObservability(program, ctx);
  registerEnv(program, ctx);
  registerWorkspace(program, ctx);
  registerSecrets(program, ctx);
  registerInit(program, ctx);
  registerCi(program, ctx);
  registerKafka(program, ctx);
  registerToggle(program, ctx);
  for (const cmd of program.commands) cmd.exitOverride();
  // --env needs the project's environments before any command opens a log.
  program.hook('preAction', async (_program, action) => {
    const named = action.opts().project as string | undefined;
    await ctx.loadEnvironment(typeof named === 'string' ? named : undefined);
  });

  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError || err instanceof InvalidArgumentError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    return reportError(io, err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
