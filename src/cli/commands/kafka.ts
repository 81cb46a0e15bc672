import type { Command } from 'commander';
import { SlipwayError } from '../../errors.js';
import { aclCommands, kafkaAcls } from '../../log/kafka/kafka-acls.js';
import { findProjectFile, loadModule } from '../../project/load-module.js';
import type { CliContext } from '../context.js';
import { printTable } from '../io.js';

export function registerKafka(program: Command, ctx: CliContext): void {
  const kafka = program.command('kafka').description('Kafka-specific help: the ACLs the pipelines need');
  kafka
    .command('acls')
    .description(
      "Print the ACLs each pipeline's runners need on the environment's Kafka cluster (topics, consumer group, transactional ids, Slipway's internal topics), as kafka-acls.sh commands and as a list",
    )
    .option('--principal <name>', "the runners' principal (default: the SASL user of the log's config)")
    .option('-p, --project <file>', 'module exporting the pipelines (default: slipway.config.ts)')
    .option('--json', 'print the list as JSON')
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as { principal?: string; project?: string; json?: boolean };
      const config = ctx.logConfig();
      if (config.engine !== 'kafka')
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          'slipway kafka acls lists ACLs of a Kafka log: give --env <environment on Kafka>, or --kafka <brokers>.',
        );
      const principal = opts.principal ?? config.security?.sasl?.username;
      if (principal === undefined || principal === '')
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          "The log's config names no SASL user: give the runners' principal with --principal <name>.",
          { details: { option: '--principal' } },
        );
      const module = await loadModule(findProjectFile(opts.project ?? ctx.project()?.path));
      const pipelines = [...module.pipelines]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((p) => ({ name: p.name, inputs: p.inputs.map((d) => d.topic), outputs: p.outputs.map((d) => d.topic) }));
      const acls = kafkaAcls({
        principal,
        pipelines,
        ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
      });
      if (opts.json) {
        ctx.io.out(JSON.stringify(acls, null, 2));
        return;
      }
      printTable(
        ctx.io,
        ['RESOURCE', 'PATTERN', 'NAME', 'OPERATIONS', 'WHY'],
        acls.map((a) => [a.resourceType, a.patternType, a.name, a.operations.join(','), a.why]),
      );
      ctx.io.out('');
      ctx.io.out(`# as kafka-acls.sh commands (admin.properties: an admin's SASL/TLS client settings)`);
      for (const line of aclCommands(acls, config.brokers.join(','), 'admin.properties')) ctx.io.out(line);
    });
}
