import fs from 'node:fs';
import { SystemClock, type Clock } from '../core/clock';
import { isMemoryPath } from '../queue/sqlite/connection';
import type { MirrorStore, StoredRunRow } from '../queue/sqlite/mirror-store';
import { readMirrorFile } from './read-only-store';
import { RUN_QUEUE, SHADOW_QUEUE, moduleIdOf, runIdOf } from './run-payload';

/** One unfinished run the queue file holds, as a rollback sees it. */
export interface RollbackItem {
  readonly runId: string;
  readonly taskId: number;
  readonly moduleId: string;
  /** `queued`: never started; `interrupted`: running when its process died; `running-elsewhere`: a live process holds its lease. */
  readonly state: 'queued' | 'interrupted' | 'running-elsewhere';
  /** `work`: the sqlite-mode queue; `shadow`: a mirror row left by a shadow-mode process that died. */
  readonly queue: 'work' | 'shadow';
  /** True when one of `handledModules` can take it over in memory. */
  readonly hasHandler: boolean;
}

/** What flipping the flag back to memory/shadow would do with the runs the queue still holds. */
export interface RollbackPlan {
  readonly dbPath: string;
  /** Total unfinished runs found. */
  readonly total: number;
  readonly queued: number;
  readonly interrupted: number;
  readonly runningElsewhere: number;
  /** Run ids an in-memory manager with a handler for their module takes over. */
  readonly takeOver: readonly string[];
  /** Run ids that wait: no handler registered for their module (register one, or finish them in sqlite mode). */
  readonly waiting: readonly string[];
  /** Run ids still leased by a live process: let it finish (or stop it) before the flip. */
  readonly busy: readonly string[];
  readonly items: readonly RollbackItem[];
}

/** Options of {@link planRollback}. */
export interface PlanRollbackOptions {
  /** Modules that will have a handler after the flip (the CLI cannot know; default none). */
  handledModules?: readonly string[];
  clock?: Clock;
}

function itemsOf(rows: readonly StoredRunRow[], queue: 'work' | 'shadow', now: number, handled: ReadonlySet<string>): RollbackItem[] {
  return rows
    .filter((r) => r.status === 'queued' || r.status === 'running')
    .map((r) => {
      const leased = r.leaseExpiresAt !== null && r.leaseExpiresAt > now;
      const state: RollbackItem['state'] = leased ? 'running-elsewhere' : r.status === 'running' ? 'interrupted' : 'queued';
      const moduleId = moduleIdOf(r.type, r.payload);
      return { runId: runIdOf(r.key, r.payload) ?? `task:${r.id}`, taskId: r.id, moduleId, state, queue, hasHandler: handled.has(moduleId) };
    });
}

/**
 * Builds the plan from an open store (reads only). Every unfinished run appears exactly once, by id:
 * nothing is lost in a rollback, each run is either taken over, waiting or still busy elsewhere.
 */
export function planRollbackFromStore(store: MirrorStore, dbPath: string, options: PlanRollbackOptions = {}): RollbackPlan {
  const now = (options.clock ?? new SystemClock()).now();
  const handled = new Set(options.handledModules ?? []);
  const items = [
    ...itemsOf(store.listQueue(RUN_QUEUE), 'work', now, handled),
    ...itemsOf(store.listQueue(SHADOW_QUEUE), 'shadow', now, handled),
  ];
  const ids = (f: (i: RollbackItem) => boolean): string[] => items.filter(f).map((i) => i.runId);
  return {
    dbPath,
    total: items.length,
    queued: items.filter((i) => i.state === 'queued').length,
    interrupted: items.filter((i) => i.state === 'interrupted').length,
    runningElsewhere: items.filter((i) => i.state === 'running-elsewhere').length,
    takeOver: ids((i) => i.state !== 'running-elsewhere' && i.hasHandler),
    waiting: ids((i) => i.state !== 'running-elsewhere' && !i.hasHandler),
    busy: ids((i) => i.state === 'running-elsewhere'),
    items,
  };
}

/**
 * The rollback report for a database file (`taskbridge rollback --dry-run`). Reads only; a missing
 * file, one with no taskbridge schema yet, or `:memory:` yields an empty plan, since there is
 * nothing a rollback could lose.
 */
export function planRollback(dbPath: string, options: PlanRollbackOptions = {}): RollbackPlan {
  const empty: RollbackPlan = { dbPath, total: 0, queued: 0, interrupted: 0, runningElsewhere: 0, takeOver: [], waiting: [], busy: [], items: [] };
  if (isMemoryPath(dbPath) || !fs.existsSync(dbPath)) return empty;
  return readMirrorFile(dbPath, options.clock ?? new SystemClock(), (store) => planRollbackFromStore(store, dbPath, options), () => empty);
}
