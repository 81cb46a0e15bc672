export {
  connectDatastore,
  type DatastoreConnection,
  describeDatastore,
  type PostgresDatastore,
} from './connection.js';
export {
  type BlockedStep,
  checkDeployMigrations,
  type DeployMigrationPlan,
  type DeployStep,
  planDeployMigrations,
} from './deploy-migrations.js';
export { compareTable, type DriftItem, describeDrift, type LiveTable, readLiveTable } from './drift.js';
export {
  type AppliedStep,
  type ApplyOptions,
  type ApplyResult,
  applyMigrations,
  type DownOptions,
  type MigrationEvent,
  undoMigrations,
} from './migration-apply.js';
export {
  checksumOf,
  LEDGER_TABLE,
  type LedgerRow,
  type MigrationStep,
  readLedger,
  tableSteps,
} from './migration-ledger.js';
export {
  type DatastorePlan,
  type EditedStep,
  type PendingStep,
  planDatastore,
  type TablePlan,
} from './migration-plan.js';
export { classifyStatement, classifyStep, type StatementSafety, type StepSafety } from './statement-safety.js';
export {
  type ColumnDeclaration,
  columnsFromSchema,
  createTableStatement,
  defineTable,
  isTable,
  quoteIdent,
  SOURCE_COLUMN,
  type Table,
  type TableColumn,
  type TableDefinition,
  type TableMigration,
} from './table.js';
