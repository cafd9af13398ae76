import { SystemClock, type Clock } from '../core/clock';
import { DuplicateRunError, InvalidInputError, describeThrown } from '../core/errors';
import type { Logger } from '../core/logger';
import type { Run, RunStatus } from './types';

const DAY_MS = 24 * 60 * 60 * 1000;
const FINISHED: ReadonlySet<RunStatus> = new Set<RunStatus>(['completed', 'failed', 'cancelled']);
const ACTIVE: ReadonlySet<RunStatus> = new Set<RunStatus>(['queued', 'running']);
/** Fields every Run has; updateRun never removes them (runId is never changed at all). */
const REQUIRED_FIELDS: ReadonlySet<string> = new Set(['status', 'createdAt', 'moduleId', 'moduleName', 'parameters']);

/** What happened to a run in the registry; passed to {@link RunRegistry.subscribe} listeners. */
export type RunChangeKind = 'added' | 'updated' | 'removed';

/** Receives a copy of the run after each change (the run as it was, for `removed`). */
export type RunChangeListener = (run: Run, kind: RunChangeKind) => void;

/** Options of {@link RunRegistry}; all optional so `new RunRegistry()` keeps working. */
export interface RunRegistryOptions {
  /** Source of "now" for {@link RunRegistry.cleanupOldRuns}; the wall clock by default. */
  clock?: Clock;
  /** Where a throwing change listener is reported; listeners are silently isolated without one. */
  logger?: Logger;
}

/** True for `completed`, `failed` and `cancelled`. */
export function isFinishedStatus(status: RunStatus): boolean {
  return FINISHED.has(status);
}

/** True for `queued` and `running`. */
export function isActiveStatus(status: RunStatus): boolean {
  return ACTIVE.has(status);
}

/**
 * Copies data deeply (objects, arrays, Dates, Maps, Sets) so that no caller shares mutable state
 * with the registry. addRun and updateRun do not validate, so a cycle is reproduced in the copy
 * rather than recursing until the stack overflows. Class instances (which validated parameters
 * never contain) are kept by reference: there is no faithful generic copy of one.
 */
function cloneData(value: unknown, seen: Map<object, unknown>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return new Date(value.getTime());
  const done = seen.get(value);
  if (done !== undefined) return done;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    seen.set(value, out);
    // Index loop rather than map(): holes stay holes, as they did.
    for (let i = 0; i < value.length; i += 1) if (i in value) out[i] = cloneData(value[i], seen);
    return out;
  }
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    seen.set(value, out);
    for (const [k, v] of value) out.set(cloneData(k, seen), cloneData(v, seen));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    seen.set(value, out);
    for (const v of value) out.add(cloneData(v, seen));
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [k, v] of Object.entries(value)) {
    // JSON.parse makes "__proto__" an own key; assigning it would set the copy's prototype instead,
    // losing the data and leaving a non-plain object that later reads hand out by reference.
    if (k === '__proto__') Object.defineProperty(out, k, { value: cloneData(v, seen), enumerable: true, writable: true, configurable: true });
    else out[k] = cloneData(v, seen);
  }
  return out;
}

/** A deep copy of a run: Dates and parameters included. */
export function cloneRun(run: Run): Run {
  return cloneData(run, new Map()) as Run;
}

/**
 * Holds every run the application knows about (the legacy contract's `RunRegistry`).
 * Reads return deep copies and writes store copies, so no caller can change a stored run except
 * through {@link RunRegistry.updateRun}.
 */
export class RunRegistry {
  private readonly runs = new Map<string, Run>();
  private readonly listeners = new Set<RunChangeListener>();
  /** Changes made by a listener while another change is being announced, waiting their turn (see emit). */
  private readonly queued: { run: Run; kind: RunChangeKind }[] = [];
  private emitting = false;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;

  constructor(options: RunRegistryOptions = {}) {
    this.clock = options.clock ?? new SystemClock();
    this.logger = options.logger;
  }

  /**
   * Stores a copy of the run.
   * @throws DuplicateRunError when a run with the same `runId` is already present
   * @throws InvalidInputError when `runId` is missing or empty
   */
  addRun(run: Run): void {
    assertNonEmptyString('runId', run?.runId);
    if (this.runs.has(run.runId)) throw new DuplicateRunError(run.runId);
    const stored = cloneRun(run);
    this.runs.set(run.runId, stored);
    this.emit(stored, 'added');
  }

  /**
   * Merges `patch` into the run and returns a copy of the result, or `undefined` for an unknown id.
   * A key whose value is `undefined` removes an optional field; a required field (`status`,
   * `createdAt`, `moduleId`, `moduleName`, `parameters`) patched to `undefined` keeps its value, and
   * `runId` cannot be changed.
   * @throws InvalidInputError when `patch` is not an object (null and undefined change nothing)
   */
  updateRun(runId: string, patch: Partial<Run>): Run | undefined {
    if (patch !== null && patch !== undefined && (typeof patch !== 'object' || Array.isArray(patch))) {
      throw new InvalidInputError('patch', patch, 'an object of Run fields to change');
    }
    const current = this.runs.get(runId);
    if (current === undefined) return undefined;
    const next = { ...current } as Record<string, unknown>;
    for (const [key, value] of Object.entries(cloneData(patch ?? {}, new Map()) as Record<string, unknown>)) {
      // Not a Run field, and assigning it would replace the stored run's prototype.
      if (key === 'runId' || key === '__proto__') continue;
      if (value !== undefined) next[key] = value;
      // `{ status: opts.status }` with no status given would otherwise drop the run out of every query.
      else if (!REQUIRED_FIELDS.has(key)) delete next[key];
    }
    const stored = next as unknown as Run;
    this.runs.set(runId, stored);
    this.emit(stored, 'updated');
    return cloneRun(stored);
  }

  /** A copy of the run, or `undefined` for an unknown id. */
  getRun(runId: string): Run | undefined {
    const run = this.runs.get(runId);
    return run === undefined ? undefined : cloneRun(run);
  }

  /** Runs whose status is `queued` or `running`. */
  getActiveRuns(): Run[] {
    return this.select((r) => ACTIVE.has(r.status));
  }

  /** Runs of one module (the `moduleId`). */
  getRunsByModule(moduleId: string): Run[] {
    return this.select((r) => r.moduleId === moduleId);
  }

  /** Runs with the given status. */
  getRunsByStatus(status: RunStatus): Run[] {
    return this.select((r) => r.status === status);
  }

  /**
   * The `limit` newest runs by `createdAt`, newest first. Runs created at the same instant come
   * newest-added first, so the order is stable; runs without a valid `createdAt` come last.
   * @throws InvalidInputError when `limit` is not a non-negative integer
   */
  getRecentRuns(limit = 50): Run[] {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new InvalidInputError('limit', limit, 'a non-negative integer (default 50)');
    }
    const all = [...this.runs.values()];
    // An undated run sorts as the oldest: a NaN in the comparator made the sort's order undefined
    // for every run, so dated runs came out of order too.
    const indexed = all.map((run, index) => {
      const at = timeOf(run.createdAt);
      return { run, index, at: Number.isNaN(at) ? Number.NEGATIVE_INFINITY : at };
    });
    indexed.sort((a, b) => b.at - a.at || b.index - a.index);
    return indexed.slice(0, limit).map((e) => cloneRun(e.run));
  }

  /**
   * Removes finished runs (`completed`, `failed`, `cancelled`) whose `completedAt` is more than
   * `days` days before now; runs without a `completedAt` are kept.
   * @returns how many runs were removed
   * @throws InvalidInputError when `days` is not a finite non-negative number
   */
  cleanupOldRuns(days = 30): number {
    if (typeof days !== 'number' || !Number.isFinite(days) || days < 0) {
      throw new InvalidInputError('days', days, 'a finite non-negative number of days (default 30)');
    }
    const cutoff = this.clock.now() - days * DAY_MS;
    let removed = 0;
    for (const [runId, run] of [...this.runs]) {
      if (!FINISHED.has(run.status) || run.completedAt === undefined) continue;
      if (timeOf(run.completedAt) < cutoff) {
        this.runs.delete(runId);
        removed += 1;
        this.emit(run, 'removed');
      }
    }
    return removed;
  }

  /**
   * Calls `listener` after every change. Additive to the legacy contract: it lets the compat layer
   * mirror status changes without the registry knowing about modes. Every listener sees each run's
   * changes in the order they happened: a change a listener makes (it starts a finished run again,
   * say) is announced once the change it reacted to has reached every listener.
   * @returns a function that removes the listener
   */
  subscribe(listener: RunChangeListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** How many runs the registry holds. */
  get size(): number {
    return this.runs.size;
  }

  /**
   * True while listeners are being called: a change made now (by a listener) is announced only
   * after the change being announced has reached every listener (see {@link subscribe}).
   */
  get announcing(): boolean {
    return this.emitting;
  }

  private select(predicate: (run: Run) => boolean): Run[] {
    const out: Run[] = [];
    for (const run of this.runs.values()) if (predicate(run)) out.push(cloneRun(run));
    return out;
  }

  private emit(run: Run, kind: RunChangeKind): void {
    if (this.listeners.size === 0) return;
    // Announced at once, a change made by a listener reached the listeners after it before the
    // change it reacted to: a mirror then ended on the older state and stopped following the run.
    if (this.emitting) {
      this.queued.push({ run, kind });
      return;
    }
    this.emitting = true;
    try {
      this.announce(run, kind);
      for (let i = 0; i < this.queued.length; i++) this.announce(this.queued[i]!.run, this.queued[i]!.kind);
    } finally {
      this.queued.length = 0;
      this.emitting = false;
    }
  }

  private announce(run: Run, kind: RunChangeKind): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(cloneRun(run), kind);
      } catch (err) {
        // A subscriber's bug must not undo a registry write or break the caller that made it.
        this.logger?.error('run registry listener threw', { runId: run.runId, kind, error: describeThrown(err) });
      }
    }
  }
}

/** Milliseconds of a stored date; stored runs may hold whatever the caller put in, so be lenient. */
function timeOf(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number' || typeof value === 'string') return new Date(value).getTime();
  return Number.NaN;
}

/** @throws InvalidInputError naming `field` unless `value` is a non-empty string */
export function assertNonEmptyString(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidInputError(field, value, 'a non-empty string');
  }
}
