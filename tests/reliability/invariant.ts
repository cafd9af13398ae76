import { existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * The invariant every reliability scenario ends with:
 * 1. the database passes `PRAGMA integrity_check`;
 * 2. every accepted task exists exactly once, in exactly one known state;
 * 3. every completed task's handler ran to completion exactly once, unless a lease was lost: then at
 *    most twice (`maxRuns`), and a second run is visible as a retry (attempts > 1);
 * 4. no handler ran to completion more often than its task was attempted, and no run belongs to a
 *    task nobody enqueued.
 *
 * Handler runs are counted outside the queue: each process appends "<taskId> start" and
 * "<taskId> done" lines to its own file with appendFileSync, which survives a SIGKILL.
 */
export interface InvariantInput {
  readonly dbPath: string;
  /** Task ids the producers were told were accepted. */
  readonly accepted: Iterable<number>;
  /** Run files ("<id> start" / "<id> done" lines). Missing files count as empty. */
  readonly runFiles: readonly string[];
  /** Most completed runs allowed for one task (default 2: one lost lease). */
  readonly maxRuns?: number;
  /** Whether tasks in the database that no producer reported are allowed (a producer killed after its commit). */
  readonly allowUnreported?: boolean;
  /** Whether tasks may still be running (false: the run is over, nothing may hold a lease). */
  readonly allowRunning?: boolean;
}

export interface InvariantReport {
  readonly problems: string[];
  readonly tasks: number;
  readonly byStatus: Record<string, number>;
  readonly doneRuns: number;
  readonly startedRuns: number;
  /** Completed tasks whose handler completed twice (a lost lease). */
  readonly doubleRuns: number;
  /** Accepted tasks missing from the database: must be 0. */
  readonly lost: number;
}

const STATES = new Set(['queued', 'running', 'completed', 'failed', 'cancelled']);

/** Counts "<id> <event>" lines across the run files. */
export function countRuns(runFiles: readonly string[], event: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const file of runFiles) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [id, what] = line.split(' ');
      if (what !== event) continue;
      counts.set(Number(id), (counts.get(Number(id)) ?? 0) + 1);
    }
  }
  return counts;
}

/** Checks the invariant; returns every problem found (empty when it holds) and the figures. */
export function checkInvariant(input: InvariantInput): InvariantReport {
  const problems: string[] = [];
  const maxRuns = input.maxRuns ?? 2;
  const db = new Database(input.dbPath, { readonly: true, fileMustExist: true });
  let rows: { id: number; status: string; attempts: number }[];
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') problems.push(`integrity_check: ${String(integrity)}`);
    rows = db.prepare('SELECT id, status, attempts FROM tasks ORDER BY id').all() as typeof rows;
  } finally {
    db.close();
  }
  const byId = new Map<number, { status: string; attempts: number }>();
  const byStatus: Record<string, number> = {};
  for (const r of rows) {
    if (byId.has(r.id)) problems.push(`task ${r.id} appears twice`);
    byId.set(r.id, r);
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    if (!STATES.has(r.status)) problems.push(`task ${r.id} is in unknown state ${JSON.stringify(r.status)}`);
    if (r.status === 'running' && input.allowRunning !== true) problems.push(`task ${r.id} is still running`);
  }
  const accepted = new Set(input.accepted);
  let lost = 0;
  for (const id of accepted) {
    if (!byId.has(id)) {
      lost++;
      problems.push(`accepted task ${id} is missing`);
    }
  }
  if (input.allowUnreported !== true) {
    for (const id of byId.keys()) if (!accepted.has(id)) problems.push(`task ${id} is in the database but was never reported accepted`);
  }
  const done = countRuns(input.runFiles, 'done');
  const started = countRuns(input.runFiles, 'start');
  let doubleRuns = 0;
  for (const [id, n] of done) {
    const row = byId.get(id);
    if (row === undefined) {
      problems.push(`handler of task ${id} ran, but no such task exists`);
      continue;
    }
    if (n > maxRuns) problems.push(`task ${id}: handler completed ${n} times (at most ${maxRuns})`);
    if (n > row.attempts) problems.push(`task ${id}: handler completed ${n} times in ${row.attempts} attempt(s)`);
    if (row.status === 'completed' && n > 1) doubleRuns++;
  }
  for (const [id, row] of byId) {
    if (row.status === 'completed' && !done.has(id)) problems.push(`task ${id} is completed but its handler never completed`);
  }
  const sum = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  return { problems, tasks: rows.length, byStatus, doneRuns: sum(done), startedRuns: sum(started), doubleRuns, lost };
}
