import Database = require('better-sqlite3');
import { SQLITE_HEADER } from '../sqlite/connection';
import { fileHandle, readFileStart } from '../sqlite/file-handles';

/** Per-table row counts of a database, user tables only, sorted by name. */
export type TableCounts = Record<string, number>;

/**
 * Opens a plain connection for maintenance work. It is separate from the store's connection on
 * purpose: a backup holds a read transaction for its whole run, which must not block the store's
 * own `BEGIN IMMEDIATE` transactions on a shared connection.
 */
export function openMaintenanceConnection(path: string, options: { readonly?: boolean; busyTimeoutMs?: number } = {}): Database.Database {
  const db = new Database(path, { fileMustExist: true, readonly: options.readonly === true });
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
  return db;
}

/**
 * Opens `path` to read it without ever writing it: read-only, so closing it never checkpoints the
 * WAL into the file or deletes the WAL. The one exception is a hot rollback journal left by a writer
 * that crashed mid-transaction: nothing can be read until it is rolled back, which needs a writer,
 * so then (and only then) the connection is read-write; rolling it back is what any opener does.
 */
export function openForReading(path: string): Database.Database {
  const db = openMaintenanceConnection(path, { readonly: true });
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code !== 'SQLITE_READONLY_ROLLBACK') throw error;
    return openMaintenanceConnection(path);
  }
}

/** Quotes an identifier read from sqlite_master; identifiers cannot be bound parameters. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Counts the rows of every user table (sqlite_* internal tables excluded). */
export function tableCounts(db: Database.Database): TableCounts {
  const names = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    .pluck()
    .all() as string[];
  const counts: TableCounts = {};
  for (const name of names) {
    counts[name] = db.prepare(`SELECT count(*) FROM ${quoteIdentifier(name)}`).pluck().get() as number;
  }
  return counts;
}

/** Runs `PRAGMA integrity_check` (or the faster `quick_check`) and returns the problems found; empty when ok. */
export function integrityProblems(db: Database.Database, kind: 'integrity_check' | 'quick_check' = 'integrity_check', maxErrors = 20): string[] {
  const rows = db.pragma(`${kind}(${Math.max(1, Math.floor(maxErrors))})`, { simple: false }) as Record<string, string>[];
  const messages = rows.map((row) => String(Object.values(row)[0]));
  return messages.length === 1 && messages[0] === 'ok' ? [] : messages;
}

/** Describes how two sets of table counts differ; empty when they are equal. */
export function countDifferences(expected: TableCounts, actual: TableCounts): string[] {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  const diffs: string[] = [];
  for (const name of names) {
    if (expected[name] !== actual[name]) {
      diffs.push(`table ${name}: expected ${expected[name] ?? 'absent'} rows, found ${actual[name] ?? 'absent'}`);
    }
  }
  return diffs;
}

/**
 * Whether the file's header says WAL mode (bytes 18 and 19, the write and read versions, are 2),
 * read from disk without opening a connection: the caller may hold a lock that no connection
 * could pass. Through the process-wide descriptor: the caller (restore) has the file open in
 * SQLite, and closing a fresh descriptor would drop this process's locks on it. False for a
 * missing, empty or non-SQLite file.
 */
export function walModeOnDisk(file: string): boolean {
  const header = Buffer.alloc(20);
  let read: number;
  try {
    read = readFileStart(fileHandle(file), header);
  } catch {
    return false;
  }
  return read === header.length && header.subarray(0, SQLITE_HEADER.length).equals(SQLITE_HEADER) && header[18] === 2 && header[19] === 2;
}

/** Whether the database has a table of that name. */
export function hasTable(db: Database.Database, name: string): boolean {
  return (db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(name) as number) > 0;
}
