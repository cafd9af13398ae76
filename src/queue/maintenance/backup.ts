import fs from 'node:fs';
import path from 'node:path';
import type Database = require('better-sqlite3');
import { DatabaseUnavailableError, InvalidOptionError, TaskbridgeError } from '../../core/errors';
import { checkSqliteHeader } from '../sqlite/connection';
import type { Logger } from '../../core/logger';
import { readSchemaVersion, SCHEMA_VERSION } from '../sqlite/migrations';
import { createPrivateFile, removeAbandonedPartials, removeDatabaseFiles, unusableDestination } from './partial-files';
import { copyOverTarget, restoredTargetProblems, stagingCopyProblems } from './restore-copy';
import { countDifferences, integrityProblems, openForReading, openMaintenanceConnection, tableCounts, type TableCounts } from './sqlite-file';

/**
 * A backup or restore whose copy did not verify. A backup's destination is removed; a restore's target
 * is untouched when the backup or its staging copy failed, and restored but reported when the check
 * after the copy failed (the error names the file).
 */
export class BackupVerificationError extends TaskbridgeError {
  constructor(readonly file: string, readonly problems: readonly string[]) {
    super('TASKBRIDGE_BACKUP_INVALID', `Verification of ${file} failed: ${problems.join('; ')}`);
  }
}

/** Progress of a page copy, as reported to {@link BackupOptions.onProgress}. */
export interface CopyProgress {
  readonly totalPages: number;
  readonly copiedPages: number;
}

/** Options of {@link backupDatabase} and {@link restoreDatabase}: both are a page copy. */
export interface BackupOptions {
  /** Called after every step of the page copy (e.g. to draw a progress bar). */
  onProgress?: (progress: CopyProgress) => void;
  /** Pages copied per step; smaller steps hold the source lock for shorter moments. Default 256. */
  pagesPerStep?: number;
  logger?: Logger;
}

/** What a verified backup holds. */
export interface BackupResult {
  readonly source: string;
  readonly file: string;
  readonly bytes: number;
  readonly pages: number;
  readonly durationMs: number;
  /** Row counts of the snapshot, equal in the source (at the snapshot) and in the copy. */
  readonly tables: TableCounts;
}

/**
 * Copies a live database to `destination` with SQLite's online backup API, then verifies the copy:
 * `integrity_check` must pass and every table must hold as many rows as the source snapshot.
 *
 * Workers may keep writing meanwhile. The copy reads from a read transaction held on a dedicated
 * connection, so it is one consistent snapshot (otherwise the backup API restarts on every write by
 * another connection and may never finish on a busy queue). The copy is written to a temporary file,
 * mode 0600 from its first page, and renamed into place only once verified, so a failed backup
 * never replaces a good one.
 *
 * @throws BackupVerificationError when the copy does not verify, or, before anything is copied,
 * when `destination` is the database, its -wal, -shm or -journal file, or a folder
 */
export async function backupDatabase(sourcePath: string, destination: string, options: BackupOptions = {}): Promise<BackupResult> {
  const source = path.resolve(sourcePath);
  const file = path.resolve(destination);
  const unusable = unusableDestination(source, file);
  if (unusable !== undefined) throw new BackupVerificationError(file, [unusable]);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  removeAbandonedPartials(path.dirname(file), options.logger);
  const partial = `${file}.partial-${process.pid}`;
  const started = Date.now();
  // A backup must never write its source: a read-write connection that closes last checkpoints the
  // WAL into the file and deletes it, a write to a file that may since have been replaced by a restore.
  const db = openForReading(source);
  let snapshot: TableCounts;
  let pages = 0;
  try {
    createPrivateFile(partial);
    db.exec('BEGIN');
    snapshot = tableCounts(db);
    const result = await copyPages(db, partial, options);
    pages = result.totalPages;
    db.exec('COMMIT');
  } catch (error) {
    removeDatabaseFiles(partial);
    throw error;
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
  try {
    verifyCopy(partial, snapshot, file);
    fs.renameSync(partial, file);
  } catch (error) {
    removeDatabaseFiles(partial);
    throw error;
  }
  const result: BackupResult = { source, file, bytes: fs.statSync(file).size, pages, durationMs: Date.now() - started, tables: snapshot };
  options.logger?.info('backup written and verified', { source, file, bytes: result.bytes, pages, tables: snapshot, durationMs: result.durationMs });
  return result;
}

/** Options of {@link restoreDatabase}. */
export interface RestoreOptions extends BackupOptions {
  /**
   * Called with the backup's row counts once it verified and was copied beside the target, before
   * the target is touched; a throw (or rejection) ends the restore there, with the target unchanged.
   * The place for the caller's check that it is safe to restore now: it runs right before the copy,
   * not before a long integrity_check.
   */
  beforeCopy?: (backupCounts: TableCounts) => void | Promise<void>;
}

/** What a restore put in place. */
export interface RestoreResult {
  readonly backup: string;
  readonly target: string;
  /** Pages of the copy onto the target. */
  readonly pages: number;
  /** Row counts of the backup, equal in the copy that was put in place. */
  readonly tables: TableCounts;
  /**
   * The tasks sequence of the restored database: the highest task id the replaced database or the
   * backup ever handed out. New tasks get greater ids, so an id never names two tasks.
   */
  readonly taskIdSequence: number;
}

/**
 * Restores the backup at `backupPath` over the database at `targetPath`, which workers may keep open:
 *
 * 1. verifies the backup: integrity_check, a tasks table, a schema version this taskbridge can open;
 * 2. copies it to a staging file beside the target (`<target>.partial-<pid>`) and checks that every
 *    table there holds the backup's row counts;
 * 3. calls {@link RestoreOptions.beforeCopy};
 * 4. copies the staging file over the target with the online backup API, under the target's write
 *    lock, raising the tasks sequence to the highest id the target ever handed out so that no id is
 *    handed out twice (see {@link copyOverTarget} for when that mark is read);
 * 5. checks the target: integrity_check, and a tasks sequence at least that mark.
 *
 * The row counts are checked on the staging file (step 2), which nothing else writes, and not on
 * the target after the copy: any connection may write there once the copy committed (workers under
 * `--force`, but also a producer enqueueing, which no lease check stops), so counts read then prove
 * nothing about the copy. The target is untouched when anything fails before step 4, and rolled
 * back by SQLite when step 4 fails. The staging file is removed on every path; the one a killed
 * process leaves is removed by the next restore or backup into that directory
 * ({@link removeAbandonedPartials}). Progress counts the pages of both copies.
 *
 * @throws BackupVerificationError when the backup, the staging copy or the restored database does not verify
 * @throws StoreBusyError when another connection held the target's write lock for more than 5 s
 * @throws InvalidOptionError when another restore of the same target runs in this process
 * @throws NotADatabaseError when the target exists and is not an SQLite file (it is left as it was)
 */
export async function restoreDatabase(backupPath: string, targetPath: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const backup = path.resolve(backupPath);
  const target = path.resolve(targetPath);
  if (restoring.has(target)) throw new InvalidOptionError('targetPath', target, 'a database no other restore in this process is writing to');
  const expected = verifyBackupFile(backup);
  // A path holding something other than SQLite is a mistyped --db far more often than a queue to
  // replace: never overwrite it (the backup API could not write over it anyway).
  if (fs.existsSync(target)) checkSqliteHeader(target, (reason, cause) => new DatabaseUnavailableError(target, reason, cause));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  removeAbandonedPartials(path.dirname(target), options.logger);
  const staging = `${target}.partial-${process.pid}`;
  restoring.add(target);
  const report = (copiedPages: number, totalPages: number): void => options.onProgress?.({ copiedPages, totalPages });
  const step = pagesPerStep(options);
  let db: Database.Database | undefined;
  let createdTarget = false;
  try {
    createPrivateFile(staging);
    const source = openMaintenanceConnection(backup, { readonly: true });
    let stagingPages = 0;
    try {
      stagingPages = (await copyPages(source, staging, { ...options, onProgress: (p) => report(p.copiedPages, 2 * p.totalPages) })).totalPages;
    } finally {
      source.close();
    }
    db = openMaintenanceConnection(staging);
    const stagingProblems = stagingCopyProblems(db, expected);
    if (stagingProblems.length > 0) throw new BackupVerificationError(staging, stagingProblems);
    await options.beforeCopy?.(expected);
    createdTarget = !fs.existsSync(target);
    const copy = await copyOverTarget(db, target, { pagesPerStep: step, logger: options.logger, onProgress: (copied, total) => report(stagingPages + copied, stagingPages + total) });
    // A database restore created gets the mode the store gives the files it creates.
    if (createdTarget) fs.chmodSync(target, 0o600);
    createdTarget = false;
    report(stagingPages + copy.pages, stagingPages + copy.pages);
    const targetProblems = restoredTargetProblems(target, copy.taskIdSequence);
    if (targetProblems.length > 0) throw new BackupVerificationError(target, targetProblems);
    options.logger?.info('database restored from backup', { backup, target, pages: copy.pages, tables: expected, taskIdSequence: copy.taskIdSequence });
    return { backup, target, pages: copy.pages, tables: expected, taskIdSequence: copy.taskIdSequence };
  } finally {
    // A copy that failed onto a path that held nothing leaves nothing there either.
    if (createdTarget) removeDatabaseFiles(target);
    db?.close();
    removeDatabaseFiles(staging);
    restoring.delete(target);
  }
}

/** Targets of the restores running in this process: each owns the staging file `<target>.partial-<pid>`. */
const restoring = new Set<string>();

/**
 * Checks that a file is an intact taskbridge database of a schema this version can open, and returns its row counts.
 * @throws BackupVerificationError naming what is wrong
 */
export function verifyBackupFile(file: string): TableCounts {
  if (!fs.existsSync(file)) throw new BackupVerificationError(file, ['file not found']);
  let db: Database.Database | undefined;
  try {
    db = openMaintenanceConnection(file, { readonly: true });
    const problems = integrityProblems(db);
    if (problems.length > 0) throw new BackupVerificationError(file, problems);
    const counts = tableCounts(db);
    if (counts.tasks === undefined) throw new BackupVerificationError(file, ['no tasks table: not a taskbridge database']);
    // Restored, it would replace a usable database with one this taskbridge refuses to open.
    const version = readSchemaVersion(db);
    if (version > SCHEMA_VERSION) {
      throw new BackupVerificationError(file, [`schema version ${version}, newer than the ${SCHEMA_VERSION} this taskbridge supports: restore it with that newer taskbridge`]);
    }
    return counts;
  } catch (error) {
    if (error instanceof BackupVerificationError) throw error;
    throw new BackupVerificationError(file, [(error as Error).message]);
  } finally {
    db?.close();
  }
}

/**
 * Makes a backup copy one self-contained file and checks it: integrity_check passes and every table
 * holds the expected rows.
 * @throws BackupVerificationError naming `reportAs`
 */
function verifyCopy(copy: string, expected: TableCounts, reportAs: string): void {
  const db = openMaintenanceConnection(copy);
  try {
    // A backup inherits WAL mode from the source; a rollback journal makes it one self-contained
    // file that can be renamed, copied or shipped without -wal/-shm companions.
    db.pragma('journal_mode = DELETE');
    const problems = [...integrityProblems(db), ...countDifferences(expected, tableCounts(db))];
    if (problems.length > 0) throw new BackupVerificationError(reportAs, problems);
  } finally {
    db.close();
  }
}

async function copyPages(db: Database.Database, destination: string, options: BackupOptions): Promise<{ totalPages: number }> {
  const step = pagesPerStep(options);
  const result = await db.backup(destination, {
    progress: ({ totalPages, remainingPages }) => {
      options.onProgress?.({ totalPages, copiedPages: totalPages - remainingPages });
      return step;
    },
  });
  options.onProgress?.({ totalPages: result.totalPages, copiedPages: result.totalPages });
  return { totalPages: result.totalPages };
}

/** Pages copied per step of SQLite's backup API (other connections may write between steps). */
function pagesPerStep(options: Pick<BackupOptions, 'pagesPerStep'>): number {
  return Math.max(1, Math.floor(options.pagesPerStep ?? 256));
}
