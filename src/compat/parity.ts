import type { Clock } from '../core/clock';
import { SystemClock } from '../core/clock';
import type { RunRegistry } from '../manager/run-registry';
import type { Run } from '../manager/types';
import { openMirrorStore, type MirrorStore, type StoredRunRow } from '../queue/sqlite/mirror-store';
import { openReadOnlyMirrorStore } from './read-only-store';
import { flushMirrorsOf } from './shadow-executor';
import { RUN_QUEUE, SHADOW_QUEUE } from './run-payload';

/** What differs between the registry and the SQLite side for one run. */
export type MismatchKind = 'missing-in-sqlite' | 'missing-in-registry' | 'status' | 'startedAt' | 'completedAt' | 'moduleId';

/** One difference, by run id. */
export interface ParityMismatch {
  readonly runId: string;
  readonly kind: MismatchKind;
  /** What the registry says (ISO time, status, ...); undefined when the run is missing there. */
  readonly registry?: string;
  /** What SQLite says; undefined when the row is missing there. */
  readonly sqlite?: string;
}

/** Result of a parity check. Go for the next rollout step only with `mismatches.length === 0`. */
export interface ParityReport {
  readonly checked: number;
  readonly matched: number;
  readonly mismatches: readonly ParityMismatch[];
  /** Runs skipped because they are still active (their state may legitimately be in flight). */
  readonly skippedActive: number;
}

/** Options of {@link checkParity}. */
export interface ParityOptions {
  /** Only these runs (default: every run in the registry). */
  runIds?: readonly string[];
  /** Also compare runs that are still queued/running. Default false: a flush may be pending. */
  includeActive?: boolean;
  /** Also report SQLite rows whose run the registry does not know. Default false (other processes write too). */
  reportUnknownRows?: boolean;
}

const iso = (d: Date | number | null | undefined): string | undefined =>
  d === null || d === undefined ? undefined : new Date(d).toISOString();

function byKey(rows: readonly StoredRunRow[]): Map<string, StoredRunRow> {
  const map = new Map<string, StoredRunRow>();
  for (const row of rows) if (row.key !== null) map.set(row.key, row);
  return map;
}

/**
 * Compares the registry with the SQLite side and reports every mismatch by run id: a run missing
 * on either side, a different status, or different start/finish times (to the millisecond; for
 * mirrored runs only: a canary's queue-side run is compared by status and module, since the work
 * queue records its claim and completion-write times, not when the run's work began and ended).
 * Finished runs only by default (an active run's state may legitimately be in flight). What this
 * process's shadow mirrors of `registry` still hold is flushed first, so a run that finished
 * within the flush delay is compared with its final state; one the mirror cannot write (a counted
 * fault) is reported.
 */
export function checkParity(registry: RunRegistry, store: MirrorStore, options: ParityOptions = {}): ParityReport {
  // A run that finished within the flush delay is in flight, not a mismatch: write it first.
  flushMirrorsOf(registry);
  const mirror = byKey(store.listQueue(SHADOW_QUEUE));
  const work = byKey(store.listQueue(RUN_QUEUE));
  const runs: Run[] = options.runIds
    ? options.runIds.map((id) => registry.getRun(id)).filter((r): r is Run => r !== undefined)
    : registry.getRecentRuns(Number.MAX_SAFE_INTEGER);
  const mismatches: ParityMismatch[] = [];
  let checked = 0;
  let skippedActive = 0;
  const seen = new Set<string>();
  for (const run of runs) {
    seen.add(run.runId);
    if (!options.includeActive && (run.status === 'queued' || run.status === 'running')) {
      skippedActive += 1;
      continue;
    }
    checked += 1;
    // The mirror first, then the work queue: a canary's queue-side run lives there.
    const mirrored = mirror.get(run.runId);
    const row = mirrored ?? work.get(run.runId);
    if (row === undefined) {
      mismatches.push({ runId: run.runId, kind: 'missing-in-sqlite', registry: run.status });
      continue;
    }
    if (row.status !== run.status) mismatches.push({ runId: run.runId, kind: 'status', registry: run.status, sqlite: row.status });
    if (row.type !== run.moduleId) mismatches.push({ runId: run.runId, kind: 'moduleId', registry: run.moduleId, sqlite: row.type });
    // A work-queue row holds the queue's own times: started_at is the claim (a prefetched run waits
    // for a slot after it) and finished_at the completion write, not the run's start and finish.
    if (mirrored === undefined) continue;
    if (iso(run.startedAt) !== iso(row.startedAt)) {
      mismatches.push({ runId: run.runId, kind: 'startedAt', registry: iso(run.startedAt), sqlite: iso(row.startedAt) });
    }
    const finished = run.status !== 'queued' && run.status !== 'running';
    if (finished && iso(run.completedAt) !== iso(row.finishedAt)) {
      mismatches.push({ runId: run.runId, kind: 'completedAt', registry: iso(run.completedAt), sqlite: iso(row.finishedAt) });
    }
  }
  if (options.reportUnknownRows) {
    for (const [key, row] of mirror) {
      if (!seen.has(key)) mismatches.push({ runId: key, kind: 'missing-in-registry', sqlite: row.status });
    }
  }
  const mismatchedRuns = new Set(mismatches.filter((m) => m.kind !== 'missing-in-registry').map((m) => m.runId)).size;
  return { checked, matched: checked - mismatchedRuns, mismatches, skippedActive };
}

/** What the SQLite file says about the mirror on its own: for the CLI, which has no registry. */
export interface MirrorFileReport {
  /** Mirror rows by status. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Unfinished mirror rows whose process is gone (lease expired): runs lost by a crash in shadow mode. */
  readonly orphanedRunIds: readonly string[];
  /** Runs present both in the mirror and the work queue with a different status. */
  readonly divergentRunIds: readonly string[];
}

/**
 * Reads a database file and summarises the mirror (for `taskbridge parity` in another process).
 * Opens its own read-only connection and closes it; a file with no taskbridge schema yet has an
 * empty mirror.
 */
export function mirrorFileReport(dbPath: string, clock: Clock = new SystemClock()): MirrorFileReport {
  const store = openReadOnlyMirrorStore(dbPath, clock);
  if (store === undefined) return { byStatus: {}, orphanedRunIds: [], divergentRunIds: [] };
  try {
    const mirror = store.listQueue(SHADOW_QUEUE);
    const work = byKey(store.listQueue(RUN_QUEUE));
    const byStatus: Record<string, number> = {};
    for (const row of mirror) byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
    const orphanedRunIds = store.listOrphans(SHADOW_QUEUE).map((r) => r.key ?? `task:${r.id}`);
    const divergentRunIds = mirror
      .filter((r) => r.key !== null && work.has(r.key) && work.get(r.key)!.status !== r.status && r.status !== 'queued')
      .map((r) => r.key as string);
    return { byStatus, orphanedRunIds, divergentRunIds };
  } finally {
    store.close();
  }
}

/**
 * {@link checkParity} against a database file: opens its own connection and closes it. For an
 * application that wants to check its live registry from a health endpoint or a test.
 */
export function checkParityWithFile(registry: RunRegistry, dbPath: string, options: ParityOptions = {}, clock: Clock = new SystemClock()): ParityReport {
  const store = openMirrorStore(dbPath, clock);
  try {
    return checkParity(registry, store, options);
  } finally {
    store.close();
  }
}
