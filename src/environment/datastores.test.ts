import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defineTable } from '../datastore/table.js';
import { isSlipwayError } from '../errors.js';
import { resolveDatastore, tablesOfDatastore } from './datastores.js';
import { checkProject, type ProjectSpec } from './project.js';

const main = { kind: 'postgres' as const, host: 'db', database: 'app', user: 'slipway' };
const project = (datastores: Record<string, unknown>, other: Record<string, unknown> = main): unknown => ({
  environments: {
    staging: { log: { engine: 'embedded' }, datastores: { main: { ...other, schema: 'staging' } } },
    prod: { log: { engine: 'embedded', path: 'p.db' }, datastores },
  },
});

describe('datastores in slipway.config.ts', () => {
  it('validates a datastore once, naming the bad field', () => {
    const spec = checkProject(project({ main: { ...main, schema: 'prod', password: { env: 'PGPASSWORD' } } }));
    assert.equal(spec.environments.prod?.datastores?.main?.host, 'db');
    const bad: Array<[unknown, string]> = [
      [project({ main: { ...main, port: '5432' } }), 'environments.prod.datastores.main.port'],
      [project({ main: { ...main, password: 'hunter2' } }), 'environments.prod.datastores.main.password'],
      [project({ main: { ...main, kind: 'mysql' } }), 'environments.prod.datastores.main.kind'],
      [project({ main: { ...main, schema: 'staging' } }), 'environments.prod.datastores.main.schema'],
    ];
    for (const [spec, field] of bad)
      assert.throws(
        () => checkProject(spec),
        (e) => isSlipwayError(e, 'SLIPWAY_INVALID_DEFINITION') && e.details.field === field,
        field,
      );
  });

  it('resolves a datastore with its password from its reference; a missing one is SLIPWAY_SECRET_MISSING', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-ds-'));
    try {
      writeFileSync(join(dir, 'pw.txt'), 's3cret\n');
      const spec = checkProject(
        project({
          main: { ...main, schema: 'prod', password: { file: 'pw.txt' } },
          other: { ...main, port: 6432, schema: 'o', password: { env: 'OTHER_PW' } },
        }),
      ) as ProjectSpec;
      const prod = { name: 'prod', spec: spec.environments.prod as NonNullable<ProjectSpec['environments']['prod']> };
      assert.deepEqual(await resolveDatastore(prod, 'main', dir), {
        kind: 'postgres',
        host: 'db',
        port: 5432,
        database: 'app',
        user: 'slipway',
        schema: 'prod',
        password: 's3cret',
      });
      assert.equal((await resolveDatastore(prod, 'other', dir, { OTHER_PW: 'x' })).password, 'x');
      await assert.rejects(resolveDatastore(prod, 'other', dir, {}), (e) =>
        isSlipwayError(e, 'SLIPWAY_SECRET_MISSING'),
      );
      await assert.rejects(resolveDatastore(prod, 'nope', dir), (e) =>
        isSlipwayError(e, 'SLIPWAY_DATASTORE_NOT_DECLARED'),
      );
      const t = (name: string, datastore?: string) =>
        defineTable({ name, columns: { k: 'text' }, primaryKey: 'k', ...(datastore ? { datastore } : {}) });
      assert.deepEqual(
        tablesOfDatastore(prod, [t('a'), t('b', 'other')], 'main').map((x) => x.name),
        ['a'],
      );
      assert.throws(
        () => tablesOfDatastore(prod, [t('a', 'warehouse')], 'main'),
        (e) => isSlipwayError(e, 'SLIPWAY_DATASTORE_NOT_DECLARED'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
