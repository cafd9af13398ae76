import fs from 'node:fs';
import type Database = require('better-sqlite3');
import { StoreBusyError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { countDifferences, hasTable, integrityProblems, openMaintenanceConnection, tableCounts, walModeOnDisk, type TableCounts } from './sqlite-file';

/** The table whose ids must never be handed out twice (AUTOINCREMENT since migration 1). */
const TASKS = 'tasks';

/**
 * How long the copy keeps asking for the target's write lock. The same as the store's default
 * busy timeout: a writer that holds the lock longer makes a store call fail too.
 */
const TARGET_LOCK_TIMEOUT_MS = 5000;

/** The tasks row of sqlite_sequence: the highest id AUTOINCREMENT handed out; 0 before the first task. */
function taskIdSequence(db: Database.Database): number {
  if (!hasTable(db, 'sqlite_sequence')) return 0;
  return (db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck().get(TASKS) as number | undefined) ?? 0;
}

/**
 * The highest task id a database ever handed out: its sequence, or max(id) when that is larger
 * (a sequence lowered by hand). Undefined without a tasks table: not a taskbridge database.
 */
function taskIdHighWater(db: Database.Database): number | undefined {
  if (!hasTable(db, TASKS)) return undefined;
  const maxId = (db.prepare('SELECT max(id) FROM tasks').pluck().get() as number | null) ?? 0;
  return Math.max(maxId, taskIdSequence(db));
}

/** Raises the tasks sequence to at least `atLeast`, never lowering it; returns the sequence now. */
function raiseTaskIdSequence(db: Database.Database, atLeast: number): number {
  return db.transaction(() => {
    const current = taskIdSequence(db);
    if (atLeast <= current) return current;
    // A database whose queue never held a task has no row yet.
    const updated = db.prepare('UPDATE sqlite_sequence SET seq = ? WHERE name = ?').run(atLeast, TASKS).changes;
    if (updated === 0) db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(TASKS, atLeast);
    return atLeast;
  })();
}

/** The target's high-water mark, or why it has none to keep. */
interface TargetIds {
  readonly highWater: number;
  /** Set when there is nothing to keep: the target is missing, empty, foreign or unreadable. */
  readonly none?: string;
}

/**
 * Reads the highest task id the database at `target` handed out. A missing, non-taskbridge or
 * damaged file has none to keep; any other failure (a lock held past the busy timeout, an I/O
 * error) is thrown, so that the restore stops before the copy rather than forget ids.
 */
function readTargetIds(target: string): TargetIds {
  if (!fs.existsSync(target)) return { highWater: 0, none: 'the target does not exist' };
  let db: Database.Database | undefined;
  try {
    db = openMaintenanceConnection(target, { readonly: true });
    const highWater = taskIdHighWater(db);
    return highWater === undefined ? { highWater: 0, none: 'the target has no tasks table: not a taskbridge database' } : { highWater };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'))) {
      return { highWater: 0, none: `the target is not a readable database: ${(error as Error).message}` };
    }
    if (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) throw new StoreBusyError('restore (reading the task ids of the database it replaces)', error);
    throw error;
  } finally {
    db?.close();
  }
}

/** Options of {@link copyOverTarget}. */
export interface TargetCopyOptions {
  readonly pagesPerStep: number;
  /** Called after every step with the pages of this copy. */
  readonly onProgress: (copiedPages: number, totalPages: number) => void;
  readonly logger?: Logger;
}

/** What {@link copyOverTarget} put in place. */
export interface TargetCopy {
  readonly pages: number;
  /** The tasks sequence copied: the target's high-water mark at the copy, or the staging file's own if higher. */
  readonly taskIdSequence: number;
}

/**
 * Copies the database of `staging` (a private copy of the backup) over `target` with the online
 * backup API, which holds the target's write lock from its first step to its commit, so other
 * connections see the old or the restored content, never a mix.
 *
 * Task ids: before the copy the staging sequence is raised to the target's high-water mark, read
 * outside any lock; then, once the first step took the write lock and before any page is copied,
 * the mark is read again and the sequence raised through `staging`, the backup's own source
 * connection (SQLite carries such a change into the copy). No writer can commit between that read
 * and the copy's commit, so no id handed out before the restore is handed out again. The second
 * read needs a target in WAL mode, where readers pass the write lock; in a rollback-journal mode
 * the backup's lock is exclusive and only the first read counts (see the restore docs).
 *
 * SQLite answers a first step that cannot take the lock with SQLITE_BUSY, which better-sqlite3
 * reports as a finished copy of zero pages, nothing written: that is retried until
 * {@link TARGET_LOCK_TIMEOUT_MS}.
 *
 * @throws StoreBusyError when another connection held the target's write lock past the timeout
 */
export async function copyOverTarget(staging: Database.Database, target: string, options: TargetCopyOptions): Promise<TargetCopy> {
  const deadline = Date.now() + TARGET_LOCK_TIMEOUT_MS;
  let pause = 5;
  for (let attempt = 0; ; attempt++) {
    const before = readTargetIds(target);
    if (attempt === 0 && before.none !== undefined) {
      options.logger?.info('restore: no task ids to keep from the replaced database', { target, reason: before.none });
    }
    let sequence = raiseTaskIdSequence(staging, before.highWater);
    let locked = false;
    const result = await staging.backup(target, {
      progress: ({ totalPages, remainingPages }) => {
        if (!locked) {
          locked = true;
          // Checked now, not before: a store that opened the file meanwhile switched it to WAL.
          if (walModeOnDisk(target)) sequence = raiseTaskIdSequence(staging, readTargetIds(target).highWater);
        }
        options.onProgress(totalPages - remainingPages, totalPages);
        return options.pagesPerStep;
      },
    });
    if (result.totalPages > 0) return { pages: result.totalPages, taskIdSequence: sequence };
    if (Date.now() >= deadline) throw new StoreBusyError('restore (another connection held the write lock of the database to replace)');
    if (attempt === 0) options.logger?.info('restore: another connection holds the database; waiting for the write lock', { target });
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(100, pause * 2);
  }
}

/**
 * What is wrong with the staging copy of a backup: a table whose rows differ from the backup's
 * (integrity_check ran on the backup, and runs on the target after the copy), or no sequence to
 * raise. Nothing else writes the staging file, so these counts are exact.
 */
export function stagingCopyProblems(db: Database.Database, expected: TableCounts): string[] {
  const problems = countDifferences(expected, tableCounts(db));
  if (!hasTable(db, 'sqlite_sequence')) problems.push('no sqlite_sequence: the tasks table is not AUTOINCREMENT, not a taskbridge database');
  return problems;
}

/**
 * What is wrong with the target after the copy, checking only what holds whatever other
 * connections wrote since it committed: integrity_check, and a tasks sequence at least the one
 * copied (writers only raise it). Row counts are no such thing.
 */
export function restoredTargetProblems(target: string, taskIdSequenceCopied: number): string[] {
  const db = openMaintenanceConnection(target, { readonly: true });
  try {
    const problems = integrityProblems(db);
    const sequence = taskIdSequence(db);
    if (sequence < taskIdSequenceCopied) {
      problems.push(`tasks sequence ${sequence}, below the ${taskIdSequenceCopied} task ids already handed out: new tasks would reuse ids`);
    }
    return problems;
  } finally {
    db.close();
  }
}
