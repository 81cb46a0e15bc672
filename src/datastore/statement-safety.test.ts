import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyStatement, classifyStep, isWidening, splitStatements } from './statement-safety.js';

describe('classifyStatement', () => {
  const types = new Map([
    ['total', 'integer'],
    ['name', 'character varying(20)'],
    ['note', 'text'],
  ]);
  const cases: Array<[string, 'additive' | 'destructive']> = [
    ['CREATE TABLE t (a text PRIMARY KEY)', 'additive'],
    ['create index t_a on t (a)', 'additive'],
    ['ALTER TABLE t ADD COLUMN note text', 'additive'],
    ['ALTER TABLE s.t ADD COLUMN IF NOT EXISTS n bigint NOT NULL DEFAULT 0', 'additive'],
    ['ALTER TABLE t ADD COLUMN n bigint NOT NULL', 'destructive'],
    ['ALTER TABLE t ADD COLUMN n bigint UNIQUE', 'destructive'],
    ['ALTER TABLE t ADD CONSTRAINT c CHECK (total > 0)', 'destructive'],
    ['ALTER TABLE t DROP COLUMN note', 'destructive'],
    ['ALTER TABLE t ADD COLUMN x text, DROP COLUMN note', 'destructive'],
    ['DROP TABLE t', 'destructive'],
    ['TRUNCATE t', 'destructive'],
    ['UPDATE t SET note = 1', 'destructive'],
    ['ALTER TABLE t RENAME COLUMN note TO remark', 'destructive'],
    ['ALTER TABLE t RENAME TO u', 'destructive'],
    ['ALTER TABLE t ALTER COLUMN note SET NOT NULL', 'destructive'],
    ['ALTER TABLE t ALTER COLUMN note DROP NOT NULL', 'additive'],
    ['ALTER TABLE t ALTER COLUMN total TYPE bigint', 'additive'],
    ['ALTER TABLE t ALTER COLUMN name TYPE text', 'additive'],
    ['ALTER TABLE t ALTER COLUMN name TYPE varchar(10)', 'destructive'],
    ['ALTER TABLE t ALTER COLUMN note TYPE integer USING note::integer', 'destructive'],
    ['ALTER TABLE t ALTER COLUMN unknown_col TYPE text', 'destructive'],
    ['GRANT SELECT ON t TO someone', 'destructive'],
    ['VACUUM t', 'destructive'],
  ];
  for (const [sql, expected] of cases)
    it(`${expected}: ${sql}`, () => assert.equal(classifyStatement(sql, types).safety, expected));

  it('follows the types a step creates: add a column, then widen it', () => {
    assert.equal(
      classifyStep(['ALTER TABLE t ADD COLUMN n integer', 'ALTER TABLE t ALTER COLUMN n TYPE bigint']).safety,
      'additive',
    );
    assert.equal(
      classifyStep(['CREATE TABLE t (a smallint NOT NULL)', 'ALTER TABLE t ALTER a TYPE integer']).safety,
      'additive',
    );
  });

  it('splits statements outside quotes and comments', () => {
    assert.deepEqual(splitStatements("INSERT INTO t VALUES ('a;b'); -- x; y\nSELECT $$;$$ ; /* ; */"), [
      "INSERT INTO t VALUES ('a;b')",
      'SELECT $$;$$',
    ]);
  });

  it('knows widenings', () => {
    assert.ok(isWidening('integer', 'bigint'));
    assert.ok(isWidening('varchar(10)', 'character varying(20)'));
    assert.ok(!isWidening('bigint', 'integer'));
    assert.ok(!isWidening('text', 'varchar(5)'));
  });
});
