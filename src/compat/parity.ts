import type { Clock } from '../core/clock';
import { SystemClock } from '../core/clock';
import { parseDuration, type Duration } from '../core/duration';
import { InvalidOptionError } from '../core/errors';
import { isFinishedStatus, type RunRegistry } from '../manager/run-registry';
import type { Run } from '../manager/types';
import type { MirrorStore, StoredRunRow } from '../queue/sqlite/mirror-store';
import { readMirrorFile } from './read-only-store';
import { flushMirrorsOf } from './shadow-executor';
import { RUN_QUEUE, SHADOW_QUEUE, moduleIdOf, runIdOf } from './run-payload';

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
  /**
   * Runs (and, with `reportUnknownRows`, mirror rows the registry does not know) left out because
   * they finished before `finishedSince`. Always 0 without that option.
   */
  readonly skippedBeforeWindow: number;
}

/** Options of {@link checkParity}. */
export interface ParityOptions {
  /** Only these runs (default: every run in the registry). */
  runIds?: readonly string[];
  /** Also compare runs that are still queued/running. Default false: a flush may be pending. */
  includeActive?: boolean;
  /** Also report SQLite rows whose run the registry does not know. Default false (other processes write too). */
  reportUnknownRows?: boolean;
  /**
   * Compare only what finished at or after this instant: a `Date`, or a {@link Duration} back from
   * now (milliseconds as a number, or an `ms` string such as `'7d'`; a number is never a
   * timestamp). Default: no window, everything is compared.
   *
   * Each side deletes finished runs on its own schedule (`taskbridge cleanup` and a worker's
   * `--completed-older-than`/`--failed-older-than` on the file, `registry.cleanupOldRuns(days)` in the
   * application, 30 days by default), so without a window every run one side already deleted is a
   * `missing-in-sqlite` or `missing-in-registry` mismatch. Pass the shortest retention either side
   * applies (e.g. `'7d'` with `taskbridge cleanup --completed-older-than 7d`).
   *
   * A run is left out only when every side that holds it says it finished before the window: the
   * registry's run is finished with a `completedAt` before it, and the SQLite row is missing or
   * finished before it too. A run or row that either side holds unfinished, or finished with no
   * finish time, is always compared (its state is what a cutover would adopt).
   * @throws InvalidOptionError (from checkParity) for anything else, naming `finishedSince`
   */
  finishedSince?: Date | Duration;
}

const WINDOW_ACCEPTED = "a Date, or a duration back from now: a non-negative number of milliseconds or a string such as '30s', '7d'";

/** The window's start in ms since the epoch, or undefined for no window. */
function windowStart(value: ParityOptions['finishedSince'], clock: Clock): number | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Date) {
    const at = value.getTime();
    if (Number.isNaN(at)) throw new InvalidOptionError('finishedSince', value, WINDOW_ACCEPTED);
    return at;
  }
  if (typeof value !== 'number' && typeof value !== 'string') throw new InvalidOptionError('finishedSince', value, WINDOW_ACCEPTED);
  try {
    return clock.now() - parseDuration('finishedSince', value);
  } catch {
    // parseDuration's message would not mention that a Date is accepted too.
    throw new InvalidOptionError('finishedSince', value, WINDOW_ACCEPTED);
  }
}

function runFinishedBefore(run: Run, since: number): boolean {
  return isFinishedStatus(run.status) && run.completedAt !== undefined && new Date(run.completedAt).getTime() < since;
}

function rowFinishedBefore(row: StoredRunRow | undefined, since: number): boolean {
  return row === undefined || (isFinishedStatus(row.status) && row.finishedAt !== null && row.finishedAt < since);
}

const iso = (d: Date | number | null | undefined): string | undefined =>
  d === null || d === undefined ? undefined : new Date(d).toISOString();

/**
 * Rows by run id: a row's key, or the run id its payload names (a run started again under a
 * suffixed key). Rows come oldest first, so a run id's newest task wins.
 */
function byKey(rows: readonly StoredRunRow[]): Map<string, StoredRunRow> {
  const map = new Map<string, StoredRunRow>();
  for (const row of rows) {
    const runId = runIdOf(row.key, row.payload);
    if (runId !== null) map.set(runId, row);
  }
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
 * fault) is reported. With `finishedSince`, what both sides let go of by retention is left out
 * (see {@link ParityOptions.finishedSince}).
 * @param clock the "now" a duration `finishedSince` counts back from
 * @throws InvalidOptionError for an invalid `finishedSince`, before anything is read
 */
export function checkParity(registry: RunRegistry, store: Pick<MirrorStore, 'listQueue'>, options: ParityOptions = {}, clock: Clock = new SystemClock()): ParityReport {
  const since = windowStart(options.finishedSince, clock);
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
  let skippedBeforeWindow = 0;
  const seen = new Set<string>();
  for (const run of runs) {
    seen.add(run.runId);
    if (!options.includeActive && (run.status === 'queued' || run.status === 'running')) {
      skippedActive += 1;
      continue;
    }
    // The mirror first, then the work queue: a canary's queue-side run lives there.
    const mirrored = mirror.get(run.runId);
    const row = mirrored ?? work.get(run.runId);
    if (since !== undefined && runFinishedBefore(run, since) && rowFinishedBefore(row, since)) {
      skippedBeforeWindow += 1;
      continue;
    }
    checked += 1;
    if (row === undefined) {
      mismatches.push({ runId: run.runId, kind: 'missing-in-sqlite', registry: run.status });
      continue;
    }
    if (row.status !== run.status) mismatches.push({ runId: run.runId, kind: 'status', registry: run.status, sqlite: row.status });
    const moduleId = moduleIdOf(row.type, row.payload);
    if (moduleId !== run.moduleId) mismatches.push({ runId: run.runId, kind: 'moduleId', registry: run.moduleId, sqlite: moduleId });
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
      if (seen.has(key)) continue;
      if (since !== undefined && rowFinishedBefore(row, since)) skippedBeforeWindow += 1;
      else mismatches.push({ runId: key, kind: 'missing-in-registry', sqlite: row.status });
    }
  }
  const mismatchedRuns = new Set(mismatches.filter((m) => m.kind !== 'missing-in-registry').map((m) => m.runId)).size;
  return { checked, matched: checked - mismatchedRuns, mismatches, skippedActive, skippedBeforeWindow };
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
 * @throws the errors of {@link checkParityWithFile} for a missing, foreign, damaged or unreadable file
 */
export function mirrorFileReport(dbPath: string, clock: Clock = new SystemClock()): MirrorFileReport {
  return readMirrorFile(dbPath, clock, summarise, () => ({ byStatus: {}, orphanedRunIds: [], divergentRunIds: [] }));
}

function summarise(store: MirrorStore): MirrorFileReport {
  const mirror = store.listQueue(SHADOW_QUEUE);
  const work = byKey(store.listQueue(RUN_QUEUE));
  const byStatus: Record<string, number> = {};
  for (const row of mirror) byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
  const orphanedRunIds = store.listOrphans(SHADOW_QUEUE).map((r) => runIdOf(r.key, r.payload) ?? `task:${r.id}`);
  const divergentRunIds: string[] = [];
  for (const r of mirror) {
    const runId = runIdOf(r.key, r.payload);
    if (runId !== null && r.status !== 'queued' && work.has(runId) && work.get(runId)!.status !== r.status) divergentRunIds.push(runId);
  }
  return { byStatus, orphanedRunIds, divergentRunIds };
}

/** What a file with no taskbridge schema yet holds: no row at all. */
const NO_ROWS: Pick<MirrorStore, 'listQueue'> = { listQueue: () => [] };

/**
 * {@link checkParity} against a database file: opens its own read-only connection and closes it.
 * For an application that wants to check its live registry from a health endpoint or a test. The
 * file is only read: a missing one is never created, nor switched to WAL or migrated. An empty
 * file, or one with no taskbridge schema yet, is an empty mirror (every finished run is
 * `missing-in-sqlite`).
 * @throws InvalidOptionError for an invalid `finishedSince`, before the file is opened;
 *   DatabaseMissingError (`TASKBRIDGE_DATABASE_MISSING`) when nothing is at `dbPath`;
 *   NotADatabaseError for a file that is not SQLite or is damaged; DatabaseUnreadableError
 *   (`TASKBRIDGE_DATABASE_UNAVAILABLE`) for a folder or an unreadable file; SchemaTooNewError
 */
export function checkParityWithFile(registry: RunRegistry, dbPath: string, options: ParityOptions = {}, clock: Clock = new SystemClock()): ParityReport {
  windowStart(options.finishedSince, clock);
  return readMirrorFile(dbPath, clock, (store) => checkParity(registry, store, options, clock), () => checkParity(registry, NO_ROWS, options, clock));
}
