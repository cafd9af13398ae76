import Database = require('better-sqlite3');
import type { Clock } from '../core/clock';
import { TaskbridgeError } from '../core/errors';
import { metrics, type QueueMetrics } from '../queue/metrics';
import { guard } from '../queue/sqlite/context';
import { checkReadableDatabaseFile, openReadOnlyDatabase, readOnlyError } from '../queue/sqlite/read-only-file';
import { migrate } from '../queue/sqlite/migrations';
import { rowToTask } from '../queue/sqlite/rows';
import { QuerySql, tallyCounts } from '../queue/sqlite/sql/queries';
import { WorkerSql } from '../queue/sqlite/sql/workers';
import { SqliteMetricsSource } from '../queue/sqlite/stats';
import type { Task, TaskCounts, TaskFilter, TaskStore, WorkerRecord } from '../queue/types';
import { normalizeListFilter } from '../queue/query-validation';
import type { CommandContext } from './common';
import { cliLogger, missingDatabase, requireDatabase } from './store';

/**
 * The queue as the reading commands (`list`, `show`, `stats`, `serve`) see it: the store's own
 * queries on a read-only connection. Unlike the store it never creates the file, never switches its
 * journal mode, never migrates its schema and never checkpoints, so the file is left exactly as it
 * was (SQLite itself creates the `-wal`/`-shm` companions of a WAL-mode file when they are missing:
 * it cannot read such a file without them).
 *
 * A file with no taskbridge schema yet (empty, or `user_version` 0) reads as an empty queue, as it
 * did when the commands opened the store, which would have created the schema first.
 */
export class ReadOnlyQueue {
  private readonly queries: QuerySql;
  private readonly workers: WorkerSql;
  private readonly source: SqliteMetricsSource;
  private closed = false;

  private constructor(readonly path: string, private readonly db: Database.Database) {
    try {
      this.queries = new QuerySql(db);
      this.workers = new WorkerSql(db);
      this.source = new SqliteMetricsSource(db);
    } catch (error) {
      // A schema version but not our tables: some other application's SQLite file.
      throw readOnlyError(path, error, true);
    }
  }

  /**
   * Opens `dbPath` read-only.
   * @throws DatabaseMissingError, NotADatabaseError, SchemaTooNewError, DatabaseUnreadableError
   */
  static open(dbPath: string): ReadOnlyQueue {
    const db = openReadOnlyDatabase(dbPath, () => missingDatabase(dbPath));
    if (db !== undefined) return new ReadOnlyQueue(dbPath, db);
    // Nothing to read yet. The same queries on an empty in-memory schema give the empty answers.
    const empty = new Database(':memory:');
    migrate(empty, ':memory:');
    return new ReadOnlyQueue(dbPath, empty);
  }

  get(taskId: number): Task | undefined {
    const row = this.read('get', () => this.live().queries.get(taskId));
    return row === undefined ? undefined : rowToTask(row);
  }

  list(filter?: TaskFilter): Task[] {
    const shape = normalizeListFilter(filter);
    return this.read('list', () => this.live().queries.list(shape)).map(rowToTask);
  }

  /** Every status appears in every bucket, zero when empty (as the store's `counts()`). */
  counts(): TaskCounts {
    const rows = this.read('counts', () => this.live().queries.counts());
    return tallyCounts(rows);
  }

  listWorkers(): WorkerRecord[] {
    return this.read('listWorkers', () => this.live().workers.list());
  }

  /** The figures of `stats` and `/metrics`, from this connection; `staleAfterMs` defaults to DEFAULT_STALE_AFTER_MS. */
  metrics(clock: Clock, staleAfterMs?: number): Promise<QueueMetrics> {
    // metrics() reads only counts() and listWorkers() of the store it is given.
    const store: Pick<TaskStore, 'counts' | 'listWorkers'> = {
      counts: async () => this.counts(),
      listWorkers: async () => this.listWorkers(),
    };
    return metrics({ store: store as TaskStore, source: this.live().source, clock, staleAfterMs }).catch((error: unknown) => {
      throw readOnlyError(this.path, error);
    });
  }

  /** Closes the connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /**
   * One read through the store's error mapping (busy, full); damage that the open could not see,
   * in pages read only now, names the file as NotADatabaseError instead of SQLite's raw error.
   */
  private read<T>(operation: string, fn: () => T): T {
    try {
      return guard(operation, fn);
    } catch (error) {
      throw readOnlyError(this.path, error);
    }
  }

  private live(): this {
    if (this.closed) throw new TaskbridgeError('TASKBRIDGE_STORE_CLOSED', `The read-only connection to ${this.path} is closed`);
    return this;
  }
}

/** Opens the database at ctx.dbPath read-only, runs `fn`, and closes it whatever happens. */
export async function withReadOnlyQueue<T>(ctx: CommandContext, fn: (queue: ReadOnlyQueue) => Promise<T> | T): Promise<T> {
  requireDatabase(ctx);
  // Refuses an invalid TASKBRIDGE_LOG_LEVEL (exit 2) before the file is opened, as the writing commands do.
  cliLogger();
  const queue = ReadOnlyQueue.open(ctx.dbPath);
  try {
    return await fn(queue);
  } finally {
    queue.close();
  }
}

/** Refuses a missing database, a path that is not a file, and a file without the SQLite header, before SQLite opens it. */
export function requireSqliteFile(ctx: Pick<CommandContext, 'dbPath'>): void {
  checkReadableDatabaseFile(ctx.dbPath, () => missingDatabase(ctx.dbPath));
}

