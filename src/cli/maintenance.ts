import fs from 'node:fs';
import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { SystemClock } from '../core/clock';
import { NotADatabaseError, TaskbridgeError } from '../core/errors';
import { backupDatabase, restoreDatabase, type CopyProgress } from '../queue/maintenance/backup';
import { checkpoint, vacuum } from '../queue/maintenance/checkpoint';
import { cleanupFinishedTasks } from '../queue/maintenance/retention';
import { hasTable, openMaintenanceConnection } from '../queue/maintenance/sqlite-file';
import { guard } from '../queue/sqlite/context';
import { assertSchemaNotNewer, readSchemaVersion } from '../queue/sqlite/migrations';
import { SqliteMetricsSource } from '../queue/sqlite/stats';
import { ReportedFailure, UsageError, contextOf, parseDurationArg, printJson, printLines, type CommandContext } from './common';
import { formatBytes, formatDuration } from './format';
import { requireSqliteFile } from './read-only';
import { cliLogger } from './store';

/** Registers `backup`, `restore`, `cleanup`, `vacuum` and `checkpoint`. */
export function registerMaintenanceCommands(program: Command): void {
  program
    .command('backup')
    .description('online backup while workers run (progress bar on a terminal), then verified: integrity_check and equal row counts')
    .argument('<file>', 'backup file to write (replaced only once the new copy verified)')
    .action(async (file: string, _flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      requireSqliteFile(ctx);
      const result = await withProgress(ctx, 'backup', (onProgress) => backupDatabase(ctx.dbPath, file, { onProgress, logger: cliLogger() }));
      if (ctx.json) return printJson({ ...result, verified: true });
      printLines(
        `backup written to ${result.file}: ${formatBytes(result.bytes)}, ${result.pages} pages in ${formatDuration(result.durationMs)}`,
        `verified: integrity_check ok; row counts equal to the source snapshot (${describeCounts(result.tables)})`,
      );
    });

  program
    .command('restore')
    .description('verify a backup, then copy it over the database; refuses while workers hold unexpired leases unless --force')
    .argument('<file>', 'backup file written by `taskbridge backup`')
    .option('--force', 'restore even while workers hold leases (their running tasks are lost from the database)')
    .action(async (file: string, flags: { force?: boolean }, command: Command) => {
      const ctx = contextOf(command);
      const backupFile = path.resolve(file);
      if (backupFile === ctx.dbPath) throw new UsageError('the backup file is the database itself');
      let leaseCount = 0;
      const result = await withProgress(ctx, 'restore', (onProgress) =>
        restoreDatabase(backupFile, ctx.dbPath, {
          onProgress,
          logger: cliLogger(),
          // Once the backup verified, right before the copy.
          beforeCopy: () => {
            leaseCount = refuseWhileLeased(ctx, flags.force === true);
          },
        }),
      );
      if (ctx.json) return printJson({ restored: true, ...result, overrodeLeases: leaseCount });
      printLines(
        `backup ${backupFile} verified (integrity_check ok; ${describeCounts(result.tables)})`,
        `restored into ${result.target}: ${result.pages} pages; restored database verified`,
        `new tasks get ids above ${result.taskIdSequence} (the highest id the replaced database or the backup handed out)`,
      );
    });

  program
    .command('cleanup')
    .description('delete finished tasks older than the given ages (queued and running tasks are never deleted)')
    .option('--completed-older-than <duration>', 'delete completed tasks that finished longer ago than this, e.g. 7d', parseDurationArg)
    .option('--failed-older-than <duration>', 'delete dead (failed) tasks that finished longer ago than this, e.g. 30d', parseDurationArg)
    .option('--cancelled-older-than <duration>', 'delete cancelled tasks that finished longer ago than this', parseDurationArg)
    .action((flags: { completedOlderThan?: number; failedOlderThan?: number; cancelledOlderThan?: number }, command: Command) => {
      const ctx = contextOf(command);
      if (flags.completedOlderThan === undefined && flags.failedOlderThan === undefined && flags.cancelledOlderThan === undefined) {
        throw new UsageError('give at least one of --completed-older-than, --failed-older-than, --cancelled-older-than');
      }
      const result = withConnection(ctx, 'cleanup', (db) =>
        // No taskbridge schema yet (user_version 0): no task of ours to delete, whatever tables the file holds.
        readSchemaVersion(db) === 0 ? { completed: 0, failed: 0, cancelled: 0, total: 0 } : cleanupFinishedTasks(
          db,
          { completedOlderThanMs: flags.completedOlderThan, failedOlderThanMs: flags.failedOlderThan, cancelledOlderThanMs: flags.cancelledOlderThan },
          { clock: new SystemClock(), logger: cliLogger() },
        ),
      );
      if (ctx.json) return printJson({ deleted: result });
      printLines(`deleted ${result.total} task(s): ${result.completed} completed, ${result.failed} failed, ${result.cancelled} cancelled`);
    });

  program
    .command('vacuum')
    .description('rebuild the database file to return freed space (takes the write lock: workers wait meanwhile)')
    .action((_flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      const result = withConnection(ctx, 'vacuum', (db) => vacuum(db, { logger: cliLogger() }));
      if (ctx.json) return printJson(result);
      const waiting = result.busy ? ' (database + WAL: another connection was reading, so the rebuilt database waits in the WAL; run taskbridge checkpoint later to shrink the file)' : '';
      printLines(`vacuum done in ${formatDuration(result.durationMs)}: ${formatBytes(result.bytesBefore)} -> ${formatBytes(result.bytesAfter)}${waiting}`);
    });

  program
    .command('checkpoint')
    .description('copy the WAL back into the database file and truncate it')
    .action((_flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      const result = withConnection(ctx, 'checkpoint', (db) => checkpoint(db, { logger: cliLogger() }));
      if (ctx.json) printJson(result);
      else {
        printLines(
          result.busy
            ? `checkpoint incomplete: another connection was busy (${result.checkpointedFrames}/${result.walFrames} frames copied); run it again later`
            : `checkpoint done: ${result.checkpointedFrames} frame(s) copied; WAL ${formatBytes(result.walBytesBefore)} -> ${formatBytes(result.walBytesAfter)}`,
        );
      }
      // The exit code says the same with --json: a script must not read an incomplete checkpoint as done.
      if (result.busy) throw new ReportedFailure();
    });
}

/**
 * Opens the database for a command that changes it (cleanup, vacuum, checkpoint), refusing first,
 * with nothing written, a file that is not SQLite and one written by a newer taskbridge (as the
 * store does): a maintenance connection has neither check of its own. A lock held past the busy
 * timeout, or a full disk, is the store's typed error (TASKBRIDGE_BUSY, TASKBRIDGE_STORAGE_FULL,
 * both retryable) naming `operation`, not SQLite's raw one.
 */
function withConnection<T>(ctx: CommandContext, operation: string, fn: (db: ReturnType<typeof openMaintenanceConnection>) => T): T {
  requireSqliteFile(ctx);
  const db = openMaintenanceConnection(ctx.dbPath);
  try {
    try {
      assertSchemaNotNewer(db, ctx.dbPath);
    } catch (error) {
      // SQLite reports a damaged file only when it first reads a page.
      throw error instanceof TaskbridgeError ? error : new NotADatabaseError(ctx.dbPath, error);
    }
    return guard(operation, () => fn(db));
  } finally {
    db.close();
  }
}

/**
 * The number of unexpired leases in the database at ctx.dbPath. Unless `force`, refuses when there
 * is any: names the workers on stderr (and prints the refusal with --json), then exits 1.
 */
function refuseWhileLeased(ctx: CommandContext, force: boolean): number {
  const holders = fs.existsSync(ctx.dbPath) ? activeLeaseHolders(ctx) : {};
  const leaseCount = Object.values(holders).reduce((n, c) => n + c, 0);
  if (leaseCount > 0 && !force) {
    const who = Object.entries(holders).map(([owner, n]) => `${owner} (${n})`).join(', ');
    process.stderr.write(`refusing to restore: ${leaseCount} task(s) are leased by running workers: ${who}. Stop the workers, or pass --force.\n`);
    if (ctx.json) printJson({ restored: false, reason: 'active-leases', leases: holders });
    throw new ReportedFailure();
  }
  return leaseCount;
}

/** Unexpired leases by worker id in the database at ctx.dbPath. */
function activeLeaseHolders(ctx: CommandContext): Record<string, number> {
  return withConnection(ctx, 'restore (reading the leases)', (db) => {
    if (!hasTable(db, 'tasks')) return {};
    const leases = new SqliteMetricsSource(db).leasesByOwner(Date.now());
    return Object.fromEntries(Object.entries(leases).filter(([, c]) => c.active > 0).map(([owner, c]) => [owner, c.active]));
  });
}

/** Runs a page copy with a progress bar on stderr when it is a terminal (never in --json mode). */
async function withProgress<T>(ctx: CommandContext, label: string, fn: (onProgress: (p: CopyProgress) => void) => Promise<T>): Promise<T> {
  if (ctx.json || !process.stderr.isTTY) return fn(() => undefined);
  const bar = new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} pages`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
  let started = false;
  try {
    return await fn(({ totalPages, copiedPages }) => {
      if (!started) {
        bar.start(totalPages, copiedPages);
        started = true;
      } else {
        bar.setTotal(totalPages);
        bar.update(copiedPages);
      }
    });
  } finally {
    if (started) bar.stop();
  }
}

function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts).map(([name, n]) => `${name} ${n}`).join(', ');
}
