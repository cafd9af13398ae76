import Database = require('better-sqlite3');
import { NotADatabaseError, SchemaTooNewError } from '../../core/errors';

/** One schema step. Append-only: never edit a released migration, add the next number instead. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tasks, queue levels, workers',
    sql: `
      -- AUTOINCREMENT: ids are never reused, so a task id (and the seq order) stays unique forever
      -- even after maintenance deletes old rows.
      CREATE TABLE tasks (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        queue            TEXT    NOT NULL,
        type             TEXT    NOT NULL,
        payload          TEXT    NOT NULL,
        priority         INTEGER NOT NULL,
        status           TEXT    NOT NULL CHECK (status IN ('queued','running','completed','failed','cancelled')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        max_attempts     INTEGER NOT NULL,
        run_after        INTEGER NOT NULL,
        lease_owner      TEXT,
        lease_expires_at INTEGER,
        lease_token      INTEGER NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        created_at       INTEGER NOT NULL,
        started_at       INTEGER,
        finished_at      INTEGER,
        last_error       TEXT,
        result           TEXT,
        progress         TEXT,
        idempotency_key  TEXT,
        requires         TEXT,
        timeout_ms       INTEGER,
        backoff_base_ms  INTEGER NOT NULL,
        backoff_factor   REAL    NOT NULL,
        backoff_cap_ms   INTEGER NOT NULL,
        backoff_jitter   REAL    NOT NULL
      );
      -- Partial: only keyed tasks pay for the uniqueness check.
      CREATE UNIQUE INDEX tasks_idempotency ON tasks(queue, idempotency_key) WHERE idempotency_key IS NOT NULL;
      -- Claim indexes cover queued rows only, so they stay as small as the backlog. FIFO/LIFO walk
      -- (queue, run_after, rowid); priority and weighted-random walk (queue, priority, run_after, rowid).
      CREATE INDEX tasks_ready_by_time ON tasks(queue, run_after) WHERE status = 'queued';
      CREATE INDEX tasks_ready_by_priority ON tasks(queue, priority, run_after) WHERE status = 'queued';
      -- Expired-lease takeback runs on every claim; this keeps it O(expired), not O(running).
      CREATE INDEX tasks_lease_expiry ON tasks(lease_expires_at) WHERE status = 'running';
      CREATE INDEX tasks_status ON tasks(status, id);

      -- Queued counts per priority level, kept by triggers, so level-picking strategies read
      -- O(levels) rows instead of counting the backlog on every claim.
      CREATE TABLE queue_levels (
        queue        TEXT    NOT NULL,
        priority     INTEGER NOT NULL,
        queued_count INTEGER NOT NULL,
        PRIMARY KEY (queue, priority)
      ) WITHOUT ROWID;
      CREATE TRIGGER tasks_levels_insert AFTER INSERT ON tasks WHEN NEW.status = 'queued' BEGIN
        INSERT INTO queue_levels(queue, priority, queued_count) VALUES (NEW.queue, NEW.priority, 1)
          ON CONFLICT(queue, priority) DO UPDATE SET queued_count = queued_count + 1;
      END;
      CREATE TRIGGER tasks_levels_enter AFTER UPDATE OF status ON tasks
        WHEN NEW.status = 'queued' AND OLD.status <> 'queued' BEGIN
        INSERT INTO queue_levels(queue, priority, queued_count) VALUES (NEW.queue, NEW.priority, 1)
          ON CONFLICT(queue, priority) DO UPDATE SET queued_count = queued_count + 1;
      END;
      CREATE TRIGGER tasks_levels_leave AFTER UPDATE OF status ON tasks
        WHEN OLD.status = 'queued' AND NEW.status <> 'queued' BEGIN
        UPDATE queue_levels SET queued_count = queued_count - 1 WHERE queue = OLD.queue AND priority = OLD.priority;
      END;
      CREATE TRIGGER tasks_levels_delete AFTER DELETE ON tasks WHEN OLD.status = 'queued' BEGIN
        UPDATE queue_levels SET queued_count = queued_count - 1 WHERE queue = OLD.queue AND priority = OLD.priority;
      END;

      CREATE TABLE workers (
        worker_id    TEXT PRIMARY KEY,
        pid          INTEGER NOT NULL,
        hostname     TEXT    NOT NULL,
        queue        TEXT    NOT NULL,
        concurrency  INTEGER NOT NULL,
        strategy     TEXT    NOT NULL,
        capabilities TEXT    NOT NULL,
        started_at   INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'drop the status index',
    // Every claim and completion changes status, so an index keyed on it was paid for on the hot
    // path by every task, while only occasional list(status) calls used it.
    sql: 'DROP INDEX IF EXISTS tasks_status;',
  },
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Reads `PRAGMA user_version` (0 for a new database). */
export function readSchemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Refuses a database written by a newer taskbridge. Call before anything that writes.
 * @throws SchemaTooNewError naming both versions
 */
export function assertSchemaNotNewer(db: Database.Database, path: string): void {
  const version = readSchemaVersion(db);
  if (version > SCHEMA_VERSION) throw new SchemaTooNewError(path, version, SCHEMA_VERSION);
}

/** Every table, index, trigger and view name the migrations create (one namespace in SQLite). */
const OWN_NAMES = [...new Set(MIGRATIONS.flatMap((m) => [...m.sql.matchAll(/CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|TRIGGER|VIEW)\s+(\w+)/gi)].map((x) => x[1]!)))];

/** [table, column] of every column migration 1 created, as JSON; computed once, from the migration itself. */
let baseColumns: string | undefined;
function baseSchemaColumns(): string {
  if (baseColumns === undefined) {
    const scratch = new Database(':memory:');
    try {
      scratch.exec(MIGRATIONS[0]!.sql);
      baseColumns = JSON.stringify(
        scratch.prepare(`SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c
                         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`).raw().all(),
      );
    } finally {
      scratch.close();
    }
  }
  return baseColumns;
}

/**
 * Refuses an SQLite file of another application before anything writes to it: with no taskbridge
 * schema version, one that already uses one of taskbridge's names (migration 1 would fail on it
 * half way); with a version (many applications set user_version for their own schema), one that
 * lacks a table or column of migration 1 (migrations only add to it). Either way the connection
 * would otherwise have switched the file to WAL and run migrations on it before failing.
 * Call before anything that writes.
 * @throws NotADatabaseError naming the path
 */
export function assertNoForeignSchema(db: Database.Database, path: string): void {
  // One statement, so one snapshot: another process may commit migration 1 between two reads,
  // and its tables seen beside the version 0 read before would look foreign.
  const foreign = db
    .prepare(`SELECT CASE (SELECT user_version FROM pragma_user_version)
                WHEN 0 THEN (SELECT count(*) FROM sqlite_master WHERE name IN (SELECT value FROM json_each(@names)))
                ELSE (SELECT count(*) FROM json_each(@columns) AS e
                      WHERE NOT EXISTS (SELECT 1 FROM pragma_table_info(e.value ->> 0) AS c WHERE c.name = e.value ->> 1))
              END`)
    .pluck()
    .get({ names: JSON.stringify(OWN_NAMES), columns: baseSchemaColumns() }) as number;
  if (foreign > 0) throw new NotADatabaseError(path);
}

/**
 * Applies the migrations the file lacks, each in its own IMMEDIATE transaction so that two
 * processes opening a new file at once do not both run the same step: the second re-reads the
 * version under the write lock and skips it.
 */
export function migrate(db: Database.Database, path: string): void {
  for (const migration of MIGRATIONS) {
    if (readSchemaVersion(db) >= migration.version) continue;
    db.transaction(() => {
      const current = readSchemaVersion(db);
      if (current > SCHEMA_VERSION) throw new SchemaTooNewError(path, current, SCHEMA_VERSION);
      if (current >= migration.version) return;
      db.exec(migration.sql);
      // user_version cannot be a bound parameter; the value is our own integer constant.
      db.pragma(`user_version = ${Math.trunc(migration.version)}`);
    }).immediate();
  }
}
