import type { Run } from '../manager/types';
import type { MirrorRow } from '../queue/sqlite/mirror-store';
import { runKey, storedPayload, taskType } from './run-payload';

/** Who holds the mirror rows of unfinished runs, and for how long a write leases them. */
export interface MirrorLease {
  /** Identity of this process's mirror: the lease owner of its unfinished rows. */
  readonly owner: string;
  readonly leaseMs: number;
}

/**
 * A run's current state as its mirror row. An unfinished run's row is leased to this process, so a
 * crash leaves an orphan that parity and a cutover can tell from a live run; a finished run with no
 * `completedAt` is stamped with the write time `now`, so the row still says when it finished.
 * Keyed and typed as sqlite mode's task of the run is ({@link runKey}, {@link taskType}): an id the
 * queue cannot store as it is (too long, a lone surrogate) is stored as a digest that the payload
 * names, so parity, recovery at a cutover and a rollback read the run's own id back.
 */
export function mirrorRowOf(run: Run, now: number, lease: MirrorLease): MirrorRow {
  const active = run.status === 'queued' || run.status === 'running';
  const progress =
    run.progressPercent === undefined && run.itemsProcessed === undefined && run.itemsTotal === undefined
      ? null
      : { percent: run.progressPercent, itemsProcessed: run.itemsProcessed, itemsTotal: run.itemsTotal };
  const key = runKey(run.runId);
  const type = taskType(run.moduleId);
  return {
    key,
    type,
    payload: storedPayload(run, lease.owner, key, type),
    status: run.status,
    createdAt: run.createdAt.getTime(),
    startedAt: run.startedAt?.getTime() ?? null,
    finishedAt: active ? null : (run.completedAt?.getTime() ?? now),
    lastError: run.errorMessage ?? null,
    progress,
    leaseOwner: active ? lease.owner : null,
    leaseExpiresAt: active ? now + lease.leaseMs : null,
  };
}
