import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isSlipwayError } from '../errors.js';
import { checkProject } from './project.js';
import {
  defaultWorkspaceBase,
  defaultWorkspaceName,
  newWorkspace,
  readWorkspaces,
  resolveEnvironmentOrWorkspace,
  workspacesFile,
  writeWorkspaces,
} from './workspaces.js';

const root = mkdtempSync(join(tmpdir(), 'slipway-workspaces-'));
after(() => rmSync(root, { recursive: true, force: true }));

const kafka = { engine: 'kafka' as const, brokers: ['127.0.0.1:9092'] };
const project = checkProject({
  environments: {
    prod: { log: kafka, topicPrefix: 'prod.', promotion: { from: 'staging' } },
    staging: {
      log: kafka,
      topicPrefix: 'staging.',
      promotion: { from: 'dev' },
      pipelines: { p: { config: { a: 1 } } },
    },
    dev: { log: { engine: 'embedded' } },
  },
});

describe('workspaces', () => {
  it('derive from the first environment in promotion order, or the one marked workspaceBase', () => {
    assert.equal(defaultWorkspaceBase(project), 'dev');
    const marked = checkProject({
      environments: { ...project.environments, staging: { ...project.environments.staging, workspaceBase: true } },
    });
    assert.equal(defaultWorkspaceBase(marked), 'staging');
  });

  it('get their own prefix before the base prefix on a shared Kafka, and their own file when the base is embedded', () => {
    const dir = join(root, 'p1');
    const onKafka = newWorkspace(project, dir, 'ana', { base: 'staging', user: 'ana' });
    assert.equal(onKafka.topicPrefix, 'ws-ana.staging.');
    assert.equal(onKafka.logPath, undefined);
    const embedded = newWorkspace(project, dir, 'ben', { user: 'ben' });
    assert.equal(embedded.base, 'dev');
    assert.equal(embedded.logPath, join('.slipway', 'workspaces', 'ben', 'log.db'));

    writeWorkspaces(
      dir,
      new Map([
        ['ana', onKafka],
        ['ben', embedded],
      ]),
    );
    const ana = resolveEnvironmentOrWorkspace(project, 'ana', dir);
    assert.deepEqual(ana.log, { engine: 'kafka', brokers: ['127.0.0.1:9092'], namespace: 'ws-ana.staging.' });
    // The base's config, without its promotion rule; untested builds may run there.
    assert.deepEqual(ana.spec.pipelines, { p: { config: { a: 1 } } });
    assert.equal(ana.spec.promotion, undefined);
    assert.equal(ana.spec.allowUntested, true);
    const ben = resolveEnvironmentOrWorkspace(project, 'ben', dir);
    assert.deepEqual(ben.log, {
      engine: 'embedded',
      path: join(dir, '.slipway', 'workspaces', 'ben', 'log.db'),
      namespace: 'ws-ben.',
    });
    // Declared environments resolve as before.
    assert.equal(resolveEnvironmentOrWorkspace(project, 'staging', dir).log.namespace, 'staging.');
  });

  it('refuse bad names, declared names and unknown bases, with codes', () => {
    const dir = join(root, 'p2');
    const code = (fn: () => unknown, c: string) =>
      assert.throws(fn, (err: unknown) => isSlipwayError(err) && err.code === c);
    code(() => newWorkspace(project, dir, 'Ana Smith'), 'SLIPWAY_USAGE');
    code(() => newWorkspace(project, dir, 'staging'), 'SLIPWAY_USAGE');
    code(() => newWorkspace(project, dir, 'ana', { base: 'qa' }), 'SLIPWAY_UNKNOWN_ENVIRONMENT');
    assert.throws(
      () => resolveEnvironmentOrWorkspace(project, 'nobody', dir),
      (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_UNKNOWN_ENVIRONMENT') && /slipway workspace up nobody/.test(err.message),
    );
  });

  it("refuse a prefix that overlaps a declared environment's on the same log", () => {
    const clash = checkProject({
      environments: {
        dev: { log: kafka, topicPrefix: 'dev.' },
        shared: { log: kafka, topicPrefix: 'ws-ana.dev.x.' },
      },
    });
    assert.throws(
      () => newWorkspace(clash, join(root, 'p3'), 'ana', { base: 'dev' }),
      (err: unknown) => isSlipwayError(err, 'SLIPWAY_USAGE') && /overlaps environment shared/.test(err.message),
    );
  });

  it('take the OS user name, made fit for a name', () => {
    assert.equal(defaultWorkspaceName('Jane.Doe'), 'jane-doe');
    assert.equal(defaultWorkspaceName('1234'), 'u1234');
    assert.equal(defaultWorkspaceName('___'), 'u');
  });

  it('refuse a workspace file that is not theirs, saying what to do', () => {
    const dir = join(root, 'p4');
    mkdirSync(join(dir, '.slipway'), { recursive: true });
    writeFileSync(workspacesFile(dir), '{ not json');
    assert.throws(
      () => readWorkspaces(dir),
      (err: unknown) => isSlipwayError(err, 'SLIPWAY_WORKSPACE_FILE'),
    );
    writeFileSync(workspacesFile(dir), JSON.stringify({ version: 1, workspaces: { ana: { base: 'dev' } } }));
    assert.throws(
      () => readWorkspaces(dir),
      (err: unknown) => isSlipwayError(err, 'SLIPWAY_WORKSPACE_FILE') && /'ana' is malformed/.test(err.message),
    );
  });
});
