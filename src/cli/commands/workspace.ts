import { existsSync, rmSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { readDaemonInfo } from '../../control/daemon-info.js';
import {
  defaultWorkspaceName,
  newWorkspace,
  type ResolvedWorkspace,
  readWorkspaces,
  resolveWorkspace,
  updateWorkspaces,
  type WorkspaceRecord,
} from '../../environment/workspaces.js';
import { SlipwayError } from '../../errors.js';
import { type NamespacedLog, type NamespaceInventory, namespaceLog } from '../../log/namespaced-log.js';
import { describeLogConfig, openLog } from '../../log/open-log.js';
import { loadModule } from '../../project/load-module.js';
import { type LoadedProject, loadProjectFile } from '../../project/load-project.js';
import { createDatasetTopic } from '../../topics/dataset-topic.js';
import type { CliContext } from '../context.js';
import { printTable } from '../io.js';

interface WorkspaceOptions {
  project?: string;
  from?: string;
  adopt?: boolean;
  json?: boolean;
}

/** The workspace's log, on the base's engine, seen through the workspace's namespace. */
async function openWorkspaceLog(ws: ResolvedWorkspace): Promise<NamespacedLog> {
  const { namespace: _namespace, ...engine } = ws.log;
  return namespaceLog(await openLog(engine), ws.workspace.topicPrefix);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function describeInventory(made: NamespaceInventory): string[] {
  const line = (n: number, one: string, many: string, names: string[]) =>
    n === 0 ? [] : [`${plural(n, one, many)}: ${names.join(', ')}`];
  return [
    ...line(made.topics.length, 'topic', 'topics', made.topics),
    ...line(made.groups.length, 'consumer group', 'consumer groups', made.groups),
    ...line(made.owners.length, 'owner', 'owners', made.owners),
    ...line(made.stateNamespaces.length, 'state namespace', 'state namespaces', made.stateNamespaces),
  ];
}

const isEmpty = (i: NamespaceInventory) =>
  i.topics.length + i.groups.length + i.owners.length + i.stateNamespaces.length === 0;

async function project(ctx: CliContext, opts: WorkspaceOptions): Promise<LoadedProject> {
  return ctx.project() ?? loadProjectFile(opts.project);
}

function workspaceNotFound(name: string, loaded: LoadedProject): SlipwayError {
  const known = [...readWorkspaces(loaded.dir).keys()];
  return new SlipwayError(
    'SLIPWAY_WORKSPACE_NOT_FOUND',
    `This project has no workspace '${name}' (it has: ${known.join(', ') || 'none'}). \`slipway workspace list\` shows them; \`slipway workspace up ${name}\` makes it.`,
    { details: { workspace: name, workspaces: known } },
  );
}

export function registerWorkspace(program: Command, ctx: CliContext): void {
  const workspace = program
    .command('workspace')
    .description(
      'Private environments for developers, derived from a declared one: own topic prefix on the shared log (or own embedded file)',
    );

  workspace
    .command('up')
    .description("Make (or refresh) a workspace and create the project's topics in it; then use it with --env <name>")
    .argument('[name]', 'workspace name (default: your user name)')
    .option(
      '--from <environment>',
      'the declared environment it derives from (default: the one marked workspaceBase, else the first in promotion order)',
    )
    .option('-p, --project <file>', 'the project file (default: $SLIPWAY_PROJECT, else slipway.config.ts)')
    .option(
      '--adopt',
      'take over topics of this prefix that the project did not record (your workspace from another clone)',
    )
    .option('--json', 'print what was made as JSON')
    .action(async (given: string | undefined, opts: WorkspaceOptions) => {
      const loaded = await project(ctx, opts);
      const spec = loaded.project.spec;
      const name = given ?? defaultWorkspaceName();
      const workspaces = readWorkspaces(loaded.dir);
      const known = workspaces.get(name);
      if (known !== undefined && opts.from !== undefined && opts.from !== known.base)
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          `Workspace '${name}' derives from ${known.base}, not ${opts.from}. Remove it first (\`slipway workspace down ${name}\`) to make it from ${opts.from}.`,
          { details: { workspace: name, base: known.base } },
        );
      const record: WorkspaceRecord =
        known ?? newWorkspace(spec, loaded.dir, name, opts.from === undefined ? {} : { base: opts.from });
      const ws = resolveWorkspace(spec, record, loaded.dir);
      const module = await loadModule(loaded.path);
      const log = await openWorkspaceLog(ws);
      const created: string[] = [];
      try {
        if (known === undefined) {
          // A prefix already in use on the shared log is someone's: never write into it unasked.
          const found = await log.inventory();
          if (!isEmpty(found) && opts.adopt !== true)
            throw new SlipwayError(
              'SLIPWAY_WORKSPACE_TAKEN',
              `The prefix '${record.topicPrefix}' is already in use on ${describeLogConfig(ws.log)} (${describeInventory(found).join('; ')}), but this project has no workspace '${name}': it may be someone else's. Choose another name, or pass --adopt if it is yours (made from another clone).`,
              { details: { workspace: name, topicPrefix: record.topicPrefix } },
            );
          // Recorded before anything is made, so `workspace down` finds whatever an interrupted `up` made.
          updateWorkspaces(loaded.dir, (all) => {
            if (all.has(name))
              throw new SlipwayError(
                'SLIPWAY_WORKSPACE_TAKEN',
                `Another command made workspace '${name}' just now. Run \`slipway workspace up ${name}\` again to use it.`,
                { details: { workspace: name } },
              );
            all.set(name, record);
          });
        }
        for (const d of module.datasets) if (await createDatasetTopic(log, d)) created.push(d.topic);
      } finally {
        await log.close();
      }
      const where = describeLogConfig(ws.log);
      if (opts.json) {
        ctx.io.out(JSON.stringify({ workspace: record, log: ws.log, created }, null, 2));
        return;
      }
      ctx.io.out(`workspace ${name} ${known === undefined ? 'made' : 'is up'}: from ${record.base}, on the ${where}`);
      ctx.io.out(
        created.length === 0
          ? `topics: all ${module.datasets.length} already there`
          : `created ${plural(created.length, 'topic')}: ${created.join(', ')}`,
      );
      ctx.io.err(
        `use it with --env ${name} (e.g. \`slipway run --env ${name} <pipeline-file>\`, \`slipway test --env ${name}\`); remove everything it made with \`slipway workspace down ${name}\``,
      );
    });

  workspace
    .command('down')
    .description(
      'Remove a workspace: every topic, consumer group, owner and state namespace it made (and its embedded file)',
    )
    .argument('[name]', 'workspace name (default: your user name)')
    .option('-p, --project <file>', 'the project file (default: $SLIPWAY_PROJECT, else slipway.config.ts)')
    .option('--json', 'print what was removed as JSON')
    .action(async (given: string | undefined, opts: WorkspaceOptions) => {
      const loaded = await project(ctx, opts);
      const name = given ?? defaultWorkspaceName();
      const workspaces = readWorkspaces(loaded.dir);
      const record = workspaces.get(name);
      if (record === undefined) throw workspaceNotFound(name, loaded);
      const daemon = readDaemonInfo(resolve(loaded.dir, '.slipway'));
      if (daemon !== undefined && daemon.environment === name)
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          `A control plane runs workspace '${name}' (${daemon.url}, pid ${daemon.pid}); stop it first (\`slipway down\`), then remove the workspace.`,
          { details: { workspace: name, pid: daemon.pid } },
        );
      const ws = resolveWorkspace(loaded.project.spec, record, loaded.dir);
      const log = await openWorkspaceLog(ws);
      let removed: NamespaceInventory;
      try {
        removed = await log.dropNamespace();
      } finally {
        await log.close();
      }
      // An embedded workspace's own file (and its folder, with the WAL files) goes too.
      let file: string | undefined;
      if (ws.log.engine === 'embedded' && existsSync(ws.log.path)) {
        file = ws.log.path;
        const folder = dirname(file);
        // Its own folder under .slipway/workspaces goes whole; a file recorded elsewhere goes alone.
        if (folder === resolve(loaded.dir, '.slipway', 'workspaces', name))
          rmSync(folder, { recursive: true, force: true });
        else for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      }
      updateWorkspaces(loaded.dir, (all) => void all.delete(name));
      if (opts.json) {
        ctx.io.out(JSON.stringify({ workspace: name, removed, ...(file === undefined ? {} : { file }) }, null, 2));
        return;
      }
      const lines = describeInventory(removed);
      ctx.io.out(`workspace ${name} removed from the ${describeLogConfig(ws.log)}`);
      for (const l of lines) ctx.io.out(`  removed ${l}`);
      if (lines.length === 0) ctx.io.out('  it had made nothing');
      if (file !== undefined) ctx.io.out(`  deleted ${relative(process.cwd(), file) || file}`);
    });

  workspace
    .command('list')
    .description("The project's workspaces: base, log and prefix")
    .option('-p, --project <file>', 'the project file (default: $SLIPWAY_PROJECT, else slipway.config.ts)')
    .option('--json', 'print JSON')
    .action(async (opts: WorkspaceOptions) => {
      const loaded = await project(ctx, opts);
      const list = [...readWorkspaces(loaded.dir).values()];
      if (opts.json) {
        ctx.io.out(JSON.stringify(list, null, 2));
        return;
      }
      if (list.length === 0) {
        ctx.io.out('no workspaces: make yours with `slipway workspace up`');
        return;
      }
      printTable(
        ctx.io,
        ['NAME', 'FROM', 'LOG', 'CREATED'],
        list.map((w) => {
          let where: string;
          try {
            where = describeLogConfig(resolveWorkspace(loaded.project.spec, w, loaded.dir).log);
          } catch (err) {
            where = `(${(err as Error).message})`;
          }
          return [w.name, w.base, where, `${w.createdAt} by ${w.createdBy}`];
        }),
      );
    });
}
