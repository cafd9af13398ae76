import { SqliteTaskStore } from './sqlite/store';
import type { SqliteStoreOptions } from './sqlite/options';

/**
 * Creates the SQLite-backed TaskStore: opens (or creates) the file, migrates it, prepares the SQL.
 * @throws NotADatabaseError, SchemaTooNewError, DatabaseUnavailableError, InvalidOptionError
 */
export function createSqliteTaskStore(options: SqliteStoreOptions): SqliteTaskStore {
  return new SqliteTaskStore(options);
}

export { SqliteTaskStore };
export type { SqliteStoreOptions };
