import fs from 'node:fs';
import path from 'node:path';
import Database = require('better-sqlite3');
import { DatabaseUnavailableError, NotADatabaseError, TaskbridgeError } from '../../core/errors';
import { fileHandle, readFileStart, type FileHandle } from './file-handles';
import { assertNoForeignSchema, assertSchemaNotNewer, migrate } from './migrations';
import type { ResolvedSqliteStoreOptions } from './options';

/** The first 16 bytes of every SQLite database file. */
export const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * True for a SQLite error code that says the file is damaged or no database at all, extended codes
 * (SQLITE_CORRUPT_INDEX, ...) included: every place that maps errors to NotADatabaseError asks this.
 */
export function isDamagedFileCode(code: string): boolean {
  return code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB');
}

/** True for the in-memory database names SQLite understands. */
export function isMemoryPath(p: string): boolean {
  return p === ':memory:' || p.startsWith('file::memory:');
}

/**
 * Reads the first 16 bytes without opening the file for writing, so a garbage file is refused
 * before SQLite could touch it. An empty file is what SQLite itself creates, so it counts as new.
 * @param unreadable the typed error for a file that cannot be read (the caller knows whether it meant to write)
 * @returns true when the file is empty
 * @throws NotADatabaseError when the file does not start with the SQLite header
 */
export function checkSqliteHeader(file: string, unreadable: (reason: string, cause: unknown) => Error): boolean {
  let handle: FileHandle;
  const header = Buffer.alloc(SQLITE_HEADER.length);
  let read: number;
  try {
    // Through the process-wide descriptor: this process may already have the file open through
    // another connection, whose locks a close() of a fresh descriptor would drop.
    handle = fileHandle(file);
    read = readFileStart(handle, header);
  } catch (err) {
    throw unreadable(`cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  if (read === 0) return true;
  if (read < header.length || !header.equals(SQLITE_HEADER)) throw new NotADatabaseError(file);
  return false;
}

/** Makes sure the file can be created or written, with errors that say why. Returns true when the file is new. */
function prepareLocation(file: string): boolean {
  const dir = path.dirname(file);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new DatabaseUnavailableError(file, `cannot create folder ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DatabaseUnavailableError(file, `cannot inspect the path (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
    }
  }
  if (stat !== undefined && !stat.isFile()) throw new DatabaseUnavailableError(file, 'the path exists and is not a regular file');
  const target = stat === undefined ? dir : file;
  try {
    fs.accessSync(target, fs.constants.W_OK);
    if (stat === undefined && !fs.statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (err) {
    throw new DatabaseUnavailableError(file, `${target} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  if (stat !== undefined) checkSqliteHeader(file, (reason, cause) => new DatabaseUnavailableError(file, reason, cause));
  return stat === undefined || stat.size === 0;
}

/**
 * Opens (or creates) the database, refuses foreign or newer files without modifying them, sets the
 * pragmas and brings the schema up to date.
 * @throws NotADatabaseError, SchemaTooNewError, DatabaseUnavailableError
 */
export function openDatabase(options: ResolvedSqliteStoreOptions): Database.Database {
  const file = isMemoryPath(options.path) ? options.path : path.resolve(options.path);
  const memory = isMemoryPath(file);
  const created = memory ? false : prepareLocation(file);
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (err) {
    throw new DatabaseUnavailableError(file, (err as Error).message, err);
  }
  try {
    if (created) fs.chmodSync(file, 0o600);
    // Not persistent: safe to set before the checks below.
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
    try {
      assertSchemaNotNewer(db, file);
      assertNoForeignSchema(db, file);
    } catch (err) {
      if (err instanceof TaskbridgeError) throw err;
      // SQLite reports a damaged file only when it first reads a page.
      throw new NotADatabaseError(file, err);
    }
    // WAL rewrites the file header, so it comes only after the file was accepted. It lets readers
    // (list, counts) proceed while one writer commits, and makes commits a single append.
    if (!memory) db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode loses no committed transaction on a process crash, only on power loss.
    db.pragma(`synchronous = ${options.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
    if (!memory) db.pragma(`wal_autocheckpoint = ${Math.trunc(options.walAutocheckpointPages)}`);
    db.pragma('foreign_keys = ON');
    db.pragma('temp_store = MEMORY');
    // Negative cache_size means KiB rather than pages.
    db.pragma(`cache_size = ${-Math.trunc(options.cacheSizeKb)}`);
    migrate(db, file);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof TaskbridgeError) throw err;
    const code = (err as { code?: string }).code ?? '';
    if (isDamagedFileCode(code)) throw new NotADatabaseError(file, err);
    if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_IOERR')) {
      throw new DatabaseUnavailableError(file, (err as Error).message, err);
    }
    throw err;
  }
}
