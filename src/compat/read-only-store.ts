import fs from 'node:fs';
import type Database = require('better-sqlite3');
import type { Clock } from '../core/clock';
import { NotADatabaseError, TaskbridgeError } from '../core/errors';
import { openMaintenanceConnection } from '../queue/maintenance/sqlite-file';
import { checkSqliteHeader } from '../queue/sqlite/connection';
import { guard } from '../queue/sqlite/context';
import { MirrorStore } from '../queue/sqlite/mirror-store';
import { assertSchemaNotNewer, readSchemaVersion } from '../queue/sqlite/migrations';

/**
 * No file at the path a read-only report was given. Same code as the CLI's DatabaseMissingError:
 * a report never creates the database it was asked to read.
 */
export class MirrorFileMissingError extends TaskbridgeError {
  constructor(readonly path: string) {
    super('TASKBRIDGE_DATABASE_MISSING', `Database ${path} does not exist; accepted: the path of an existing taskbridge database (a report only reads, it never creates one)`);
  }
}

/**
 * A path that exists but cannot be read as a file (a folder, no read permission, a WAL file whose
 * shared-memory companion cannot be created). Same code as the CLI's DatabaseUnreadableError.
 */
export class MirrorFileUnreadableError extends TaskbridgeError {
  constructor(readonly path: string, reason: string, cause?: unknown) {
    super('TASKBRIDGE_DATABASE_UNAVAILABLE', `Database ${path} cannot be opened for reading: ${reason}`, { cause });
  }
}

/**
 * Maps what SQLite threw while opening or reading `file` read-only to a typed error: damage and
 * foreign files to NotADatabaseError, access problems to MirrorFileUnreadableError. Anything else
 * (a taskbridge error, a bug) is returned as it is.
 * @param schema true while preparing the mirror's statements: SQLITE_ERROR then means the file has
 *   a schema version but not our tables (some other application's database)
 */
export function readOnlyError(file: string, error: unknown, schema = false): unknown {
  if (error instanceof TaskbridgeError) return error;
  const code = typeof (error as { code?: unknown } | null)?.code === 'string' ? (error as { code: string }).code : '';
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || (schema && code === 'SQLITE_ERROR')) return new NotADatabaseError(file, error);
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM')) {
    return new MirrorFileUnreadableError(file, (error as Error).message, error);
  }
  return error;
}

/** Refuses a missing path, a folder and a file without the SQLite header; true for an empty file. */
function checkFile(dbPath: string): boolean {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dbPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new MirrorFileMissingError(dbPath);
    throw new MirrorFileUnreadableError(dbPath, `cannot inspect the path (${code ?? 'error'})`, error);
  }
  if (!stat.isFile()) throw new MirrorFileUnreadableError(dbPath, 'the path exists and is not a regular file');
  return checkSqliteHeader(dbPath, (reason, cause) => new MirrorFileUnreadableError(dbPath, reason, cause));
}

/**
 * A mirror store on a read-only connection, for the reports that must only read (`parity`,
 * `rollback --dry-run`, checkParityWithFile): `openMirrorStore` would create a missing file, switch
 * it to WAL and migrate its schema, all writes, on a file the caller only asked to inspect.
 * @returns undefined for a file with no taskbridge schema yet (empty, or `user_version` 0): no run
 *   was ever written to it, so the reports read it as empty, as `list` and `stats` do
 * @throws MirrorFileMissingError when nothing is at the path (nothing is created);
 *   NotADatabaseError for a file that is not SQLite, or is damaged where it is first read;
 *   MirrorFileUnreadableError for a folder or a file that cannot be read; SchemaTooNewError for a
 *   file written by a newer taskbridge. Damage further in surfaces on a later read: map it with
 *   {@link readOnlyError}.
 */
export function openReadOnlyMirrorStore(dbPath: string, clock: Clock): MirrorStore | undefined {
  if (checkFile(dbPath)) return undefined;
  let db: Database.Database;
  try {
    db = openMaintenanceConnection(dbPath, { readonly: true });
  } catch (error) {
    throw readOnlyError(dbPath, error);
  }
  try {
    // The first read of a page: SQLite reports a damaged file only now.
    const version = guard('open', () => readSchemaVersion(db));
    assertSchemaNotNewer(db, dbPath);
    if (version === 0) {
      db.close();
      return undefined;
    }
  } catch (error) {
    db.close();
    throw readOnlyError(dbPath, error);
  }
  try {
    return new MirrorStore(db, clock, true);
  } catch (error) {
    db.close();
    throw readOnlyError(dbPath, error, true);
  }
}
