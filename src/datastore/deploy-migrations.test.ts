import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSlipwayError } from '../errors.js';
import { checkDeployMigrations, planDeployMigrations } from './deploy-migrations.js';
import type { DatastorePlan, PendingStep } from './migration-plan.js';
import { classifyStep } from './statement-safety.js';
import { defineTable, type TableDefinition } from './table.js';

const table = (columns: TableDefinition['columns'], primaryKey: string | string[] = 'id') =>
  defineTable({ name: 'orders', columns: { id: 'text', ...columns }, primaryKey });

/** A plan of the orders table with these pending steps (from version 3), classified as `plan` would. */
const pending = (...steps: string[]): DatastorePlan => {
  const types = new Map([
    ['id', 'text'],
    ['total', 'bigint'],
    ['legacy', 'text'],
  ]);
  const list: PendingStep[] = steps.map((sql, i) => ({
    version: 3 + i,
    description: `step ${3 + i}`,
    statements: [sql],
    ...classifyStep([sql], types),
  }));
  return {
    schema: 's',
    tables: [
      { table: 'orders', applied: [], pending: list, edited: [], undeclared: [], drift: [], driftChecked: false },
    ],
    summary: { pending: list.length, destructive: 0, edited: 0, drift: 0 },
  };
};
const versions = (steps: ReadonlyArray<{ version: number }>) => steps.map((s) => s.version);

describe('planDeployMigrations (expand-and-contract)', () => {
  const blue = table({ total: { type: 'bigint', nullable: false }, legacy: 'text' });

  it('runs additive steps before green (the expand)', () => {
    const green = table({ total: { type: 'bigint', nullable: false }, legacy: 'text', note: 'text' });
    const plan = planDeployMigrations({
      blue: [blue],
      green: [green],
      plan: pending('ALTER TABLE orders ADD COLUMN note text', 'CREATE INDEX orders_note ON orders (note)'),
    });
    assert.deepEqual([versions(plan.expand), versions(plan.contract), versions(plan.blocked)], [[3, 4], [], []]);
  });

  it('leaves a destructive step green can start without for after blue retires (the contract)', () => {
    const green = table({ total: { type: 'bigint', nullable: false }, amount: 'numeric' });
    const plan = planDeployMigrations({
      blue: [blue],
      green: [green],
      plan: pending('ALTER TABLE orders ADD COLUMN amount numeric', 'ALTER TABLE orders DROP COLUMN legacy'),
    });
    assert.deepEqual([versions(plan.expand), versions(plan.contract), versions(plan.blocked)], [[3], [4], []]);
    checkDeployMigrations(plan, 'orders 2.0.0');
  });

  it('refuses a destructive step green needs while blue runs: a NOT NULL column green no longer writes', () => {
    const strict = table({ total: { type: 'bigint', nullable: false }, legacy: { type: 'text', nullable: false } });
    const green = table({ total: { type: 'bigint', nullable: false } });
    const plan = planDeployMigrations({
      blue: [strict],
      green: [green],
      plan: pending('ALTER TABLE orders DROP COLUMN legacy'),
    });
    assert.deepEqual(versions(plan.blocked), [3]);
    assert.throws(
      () => checkDeployMigrations(plan, 'orders 2.0.0'),
      (e) => isSlipwayError(e, 'SLIPWAY_MIGRATION_BLOCKS_DEPLOY') && (e.details.blocked as unknown[]).length === 1,
    );
  });

  it('refuses a type change green writes, and an additive step that comes after a destructive one', () => {
    const retyped = table({ total: { type: 'text', nullable: false }, legacy: 'text' });
    const narrowing = planDeployMigrations({
      blue: [blue],
      green: [retyped],
      plan: pending('ALTER TABLE orders ALTER COLUMN total TYPE text'),
    });
    assert.deepEqual(versions(narrowing.blocked), [3]);
    const green = table({ total: { type: 'bigint', nullable: false }, remark: 'text' });
    const after = planDeployMigrations({
      blue: [blue],
      green: [green],
      plan: pending('ALTER TABLE orders DROP COLUMN legacy', 'ALTER TABLE orders ADD COLUMN remark text'),
    });
    assert.deepEqual([versions(after.expand), versions(after.blocked)], [[], [3]]);
  });

  it('lets a first deployment (no blue) leave its destructive tail for later too', () => {
    const green = table({ total: { type: 'bigint', nullable: false } });
    const plan = planDeployMigrations({
      blue: [],
      green: [green],
      plan: pending('ALTER TABLE orders DROP COLUMN legacy'),
    });
    assert.deepEqual([versions(plan.contract), versions(plan.blocked)], [[3], []]);
  });
});
