import type Database = require('better-sqlite3');
import type { Clock } from '../../core/clock';
import { InvalidOptionError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { refuseUnknownKeys } from '../../core/options';
import { RETENTION_SQL } from '../sqlite/sql/retention';

/** How long finished tasks are kept, in ms after they finished. An absent age keeps that status forever. */
export interface RetentionPolicy {
  completedOlderThanMs?: number;
  /** Dead tasks (status `failed`). */
  failedOlderThanMs?: number;
  cancelledOlderThanMs?: number;
  /** Rows of one status each delete statement looks at (so at most deletes). Default 1000. */
  batchSize?: number;
}

/** Rows deleted by a cleanup, per status. */
export interface RetentionResult {
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly total: number;
}

type FinishedStatus = 'completed' | 'failed' | 'cancelled';

const POLICY_KEYS = new Set(['completedOlderThanMs', 'failedOlderThanMs', 'cancelledOlderThanMs', 'batchSize']);

/**
 * Deletes finished tasks older than the policy's ages (queued and running tasks are never touched),
 * and logs what it deleted.
 * Every field is checked before the first delete, so a bad policy deletes nothing.
 * @throws InvalidOptionError for an unknown key, a negative or non-finite age, or a bad batch size
 */
export function cleanupFinishedTasks(db: Database.Database, policy: RetentionPolicy, deps: { clock: Clock; logger?: Logger }): RetentionResult {
  if (policy === null || typeof policy !== 'object') throw new InvalidOptionError('policy', policy, `an object { ${[...POLICY_KEYS].join(', ')} }`);
  refuseUnknownKeys('policy.', policy, POLICY_KEYS);
  const batch = policy.batchSize ?? 1000;
  if (!Number.isInteger(batch) || batch < 1) throw new InvalidOptionError('batchSize', policy.batchSize, 'an integer >= 1');
  const ages: [FinishedStatus, number | undefined, string][] = [
    ['completed', policy.completedOlderThanMs, 'completedOlderThanMs'],
    ['failed', policy.failedOlderThanMs, 'failedOlderThanMs'],
    ['cancelled', policy.cancelledOlderThanMs, 'cancelledOlderThanMs'],
  ];
  for (const [, age, field] of ages) {
    if (age !== undefined && (typeof age !== 'number' || !Number.isFinite(age) || age < 0)) {
      throw new InvalidOptionError(field, age, 'a non-negative number of milliseconds');
    }
  }
  const windowEnd = db.prepare(RETENTION_SQL.windowEnd).pluck();
  const deleteInWindow = db.prepare(RETENTION_SQL.deleteInWindow);
  const now = deps.clock.now();
  const deleted: Record<FinishedStatus, number> = { completed: 0, failed: 0, cancelled: 0 };
  for (const [status, age] of ages) {
    if (age === undefined) continue;
    const before = now - age;
    // Each DELETE is its own short write transaction, so workers' commits interleave between windows.
    for (let after = 0; ;) {
      const upTo = windowEnd.get({ after, batch }) as number | null;
      if (upTo === null) break;
      deleted[status] += deleteInWindow.run({ status, after, upTo, before }).changes;
      after = upTo;
    }
  }
  const result: RetentionResult = { ...deleted, total: deleted.completed + deleted.failed + deleted.cancelled };
  deps.logger?.info('retention cleanup', { ...result, policy: { ...policy } });
  return result;
}
