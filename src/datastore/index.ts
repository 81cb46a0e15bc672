export {
  connectDatastore,
  type DatastoreConnection,
  describeDatastore,
  type PostgresDatastore,
} from './connection.js';
export {
  type ColumnDeclaration,
  columnsFromSchema,
  createTableStatement,
  defineTable,
  isTable,
  quoteIdent,
  type Table,
  type TableColumn,
  type TableDefinition,
  type TableMigration,
} from './table.js';
