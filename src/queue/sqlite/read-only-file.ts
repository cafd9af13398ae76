import fs from 'node:fs';
import type Database = require('better-sqlite3');
import { DatabaseMissingError, DatabaseUnreadableError, NotADatabaseError, TaskbridgeError } from '../../core/errors';
import { openMaintenanceConnection } from '../maintenance/sqlite-file';
import { checkSqliteHeader, isDamagedFileCode } from './connection';
import { guard } from './context';
import { assertSchemaNotNewer, readSchemaVersion } from './migrations';

/**
 * Refuses what is not a database file before SQLite opens it read-only: nothing at the path, a
 * folder, or a file that does not start with the SQLite header. Reads through the process-wide
 * descriptor (checkSqliteHeader): closing a fresh descriptor of a file this process has open
 * elsewhere would drop SQLite's locks on it.
 * @param missing the error for a path with nothing at it (callers say how a path can be given)
 * @returns true for an empty file (what SQLite creates; no schema yet)
 * @throws DatabaseMissingError (or `missing()`), DatabaseUnreadableError, NotADatabaseError
 */
export function checkReadableDatabaseFile(file: string, missing: () => Error = () => new DatabaseMissingError(file)): boolean {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw missing();
    throw new DatabaseUnreadableError(file, `cannot inspect the path (${code ?? 'error'})`, error);
  }
  if (!stat.isFile()) throw new DatabaseUnreadableError(file, 'the path exists and is not a regular file');
  return checkSqliteHeader(file, (reason, cause) => new DatabaseUnreadableError(file, reason, cause));
}

/**
 * Maps what SQLite threw while opening or reading `file` read-only to a typed error: damage and
 * foreign files to NotADatabaseError, access problems to DatabaseUnreadableError. Anything else
 * (a taskbridge error, a bug) is returned as it is.
 * @param schema true while preparing statements against the schema: SQLITE_ERROR then means the
 *   file has a schema version but not our tables (some other application's database)
 */
export function readOnlyError(file: string, error: unknown, schema = false): unknown {
  if (error instanceof TaskbridgeError) return error;
  const code = typeof (error as { code?: unknown } | null)?.code === 'string' ? (error as { code: string }).code : '';
  if (isDamagedFileCode(code) || (schema && code === 'SQLITE_ERROR')) return new NotADatabaseError(file, error);
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM')) {
    return new DatabaseUnreadableError(file, (error as Error).message, error);
  }
  return error;
}

/**
 * Opens `file` on a read-only connection for the reports and commands that must leave it exactly
 * as it was (no creation, no WAL switch, no migration), after {@link checkReadableDatabaseFile}.
 * @param missing as for checkReadableDatabaseFile
 * @returns undefined for a file with no taskbridge schema yet (empty, or `user_version` 0): nothing
 *   was ever written to it, so callers read it as empty
 * @throws DatabaseMissingError (or `missing()`), DatabaseUnreadableError, NotADatabaseError (also
 *   for damage in the first pages read), SchemaTooNewError. Damage further in surfaces on a later
 *   read: map it with {@link readOnlyError}.
 */
export function openReadOnlyDatabase(file: string, missing?: () => Error): Database.Database | undefined {
  if (checkReadableDatabaseFile(file, missing)) return undefined;
  let db: Database.Database;
  try {
    db = openMaintenanceConnection(file, { readonly: true });
  } catch (error) {
    throw readOnlyError(file, error);
  }
  try {
    // The first read of a page: SQLite reports a damaged file only now.
    const version = guard('open', () => readSchemaVersion(db));
    assertSchemaNotNewer(db, file);
    if (version > 0) return db;
  } catch (error) {
    db.close();
    throw readOnlyError(file, error);
  }
  db.close();
  return undefined;
}
