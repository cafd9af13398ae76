import type Database = require('better-sqlite3');
import { StorageFullError, StoreBusyError } from '../../core/errors';
import type { TaskEventMap, TaskEventName } from '../events';
import type { ResolvedSqliteStoreOptions } from './options';
import type { ClaimSql } from './sql/claim';
import type { EnqueueSql } from './sql/enqueue';
import type { LifecycleSql } from './sql/lifecycle';
import type { QuerySql } from './sql/queries';
import type { WorkerSql } from './sql/workers';

/** What the operation modules share: the connection, its prepared SQL and the injected services. */
export interface StoreContext {
  readonly db: Database.Database;
  readonly options: ResolvedSqliteStoreOptions;
  readonly enqueue: EnqueueSql;
  readonly claim: ClaimSql;
  readonly lifecycle: LifecycleSql;
  readonly queries: QuerySql;
  readonly workers: WorkerSql;
}

/** Busy retries after busy_timeout already waited: a few, so a lock storm surfaces as an error, not a hang. */
const BUSY_RETRIES = 2;

function isBusy(code: string): boolean {
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/**
 * Runs one store operation, retrying a bounded number of times when another connection held the
 * lock past busy_timeout, and mapping SQLite failures to typed errors. Safe to retry because every
 * operation is a single statement or a transaction that better-sqlite3 rolled back.
 */
export function guard<T>(operation: string, fn: () => T): T {
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (err) {
      const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
      if (isBusy(code)) {
        if (attempt < BUSY_RETRIES) continue;
        throw new StoreBusyError(operation, err);
      }
      if (code === 'SQLITE_FULL') throw new StorageFullError(operation, err);
      throw err;
    }
  }
}

/** Emits an event if anyone listens, building the payload only then (hot paths skip the work). */
export function emitIf<E extends TaskEventName>(ctx: StoreContext, event: E, payload: () => TaskEventMap[E]): void {
  const events = ctx.options.events;
  if (events.has(event)) events.emit(event, payload());
}
