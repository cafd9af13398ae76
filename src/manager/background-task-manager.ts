import { SystemClock, type Clock } from '../core/clock';
import { DuplicateRunError, InvalidInputError } from '../core/errors';
import { assertPlainJson } from '../core/json';
import type { Logger } from '../core/logger';
import { createDefaultExecutor } from './executor-provider';
import { CLEARED_OUTCOME, OUTCOME_FIELDS, closingFields, describeThrown } from './run-lifecycle';
import { assertNonEmptyString, type RunRegistry } from './run-registry';
import type { Run, RunExecutor, RunHandlerOptions, TaskContext, TaskWork } from './types';

/** Options of {@link BackgroundTaskManager}; all optional, so `new BackgroundTaskManager(registry)` works. */
export interface BackgroundTaskManagerOptions {
  /**
   * The engine that runs the work. Without one the manager asks the installed default factory
   * (see `setDefaultExecutorFactory`), which is how the mode flag reaches the legacy constructor.
   */
  executor?: RunExecutor;
  /** Handed to the default executor factory. */
  logger?: Logger;
  /** Source of `createdAt` for runs that lack one; also handed to the default executor factory. */
  clock?: Clock;
}

/**
 * The legacy fire-and-forget task manager (the fixed contract): hand over a run and its async work,
 * get the run id back at once, read the run's status from the registry later. Validation and the
 * `queued` record live here; running the work is the executor's job, so every mode answers alike.
 */
export class BackgroundTaskManager {
  /** The registry every lifecycle change is written to. */
  readonly registry: RunRegistry;
  /** The engine running the work; exposed so the compat layer can reach mode-specific features. */
  readonly executor: RunExecutor;
  private readonly clock: Clock;

  constructor(registry: RunRegistry, options: BackgroundTaskManagerOptions = {}) {
    if (registry === null || typeof registry !== 'object') {
      throw new InvalidInputError('registry', registry, 'a RunRegistry');
    }
    this.registry = registry;
    this.clock = options.clock ?? new SystemClock();
    this.executor =
      options.executor ?? createDefaultExecutor(registry, { logger: options.logger, clock: options.clock });
  }

  /**
   * Records the run as `queued` (adding it to the registry if absent), schedules `work` and returns
   * `run.runId` at once. Synchronous: the work begins on a later turn of the event loop.
   * @throws InvalidInputError for a missing `runId`/`moduleId`, `parameters` that are not a plain
   *   JSON object, an invalid `createdAt`, or a `work` that is not a function
   * @throws DuplicateRunError when the run id is still queued or running under this manager
   */
  startTask(run: Run, work: TaskWork): string {
    validateRun(run);
    if (typeof work !== 'function') {
      throw new InvalidInputError('work', work, 'a function (ctx: TaskContext) => Promise<unknown>');
    }
    const { runId } = run;
    if (this.executor.isActive(runId)) throw new DuplicateRunError(runId);

    const record: Run = { ...run, status: 'queued', createdAt: run.createdAt ?? new Date(this.clock.now()) };
    for (const field of OUTCOME_FIELDS) delete record[field];
    // One registry copy of the stored run for the executor: updateRun returns it for a run id
    // started again, getRun after addRun for a new one (undefined from updateRun: unknown id).
    let stored = this.registry.updateRun(runId, { ...CLEARED_OUTCOME, ...record });
    if (stored === undefined) {
      this.registry.addRun(record);
      stored = this.registry.getRun(runId) ?? record;
    }

    try {
      this.executor.start(stored, work);
    } catch (err) {
      // The executor refused the run (in sqlite mode: it could not be persisted). The caller gets the
      // error, and the registry must not show a `queued` run that nothing will ever execute.
      this.registry.updateRun(runId, { status: 'failed', errorMessage: describeThrown(err), ...closingFields(this.clock.now(), undefined) });
      throw err;
    }
    return runId;
  }

  /**
   * Cancels a run: `false` for an unknown or already finished run. Otherwise aborts its `signal`,
   * marks it `cancelled` (a run that had not begun never runs), waits until its work has settled
   * or was never started, and resolves `true`.
   */
  cancelTask(runId: string): Promise<boolean> {
    if (typeof runId !== 'string') return Promise.resolve(false);
    return this.executor.cancel(runId);
  }

  /** Resolves when every run started so far has settled; never rejects because a run failed. */
  waitAll(): Promise<void> {
    return this.executor.waitAll();
  }

  /** How many runs are queued or running under this manager. */
  getActiveTaskCount(): number {
    return this.executor.activeRunIds().length;
  }

  /** The ids of the runs queued or running under this manager. */
  getActiveTaskIds(): string[] {
    return this.executor.activeRunIds();
  }

  /** True while the run is queued or running under this manager. */
  isTaskActive(runId: string): boolean {
    return this.executor.isActive(runId);
  }

  /**
   * Registers a durable handler for a moduleId, when the executor supports handlers (the modes of
   * `src/compat`): in `sqlite` mode runs of the module become resumable after a restart and
   * runnable by other worker processes; after a rollback it takes over the runs the queue holds.
   * @param options retry policy for runs of the module that go through the durable queue
   * @returns false when the executor has no handler support (plain in-memory executor)
   */
  registerHandler(
    moduleId: string,
    handler: (run: Readonly<Run>, ctx: TaskContext) => Promise<unknown>,
    options: RunHandlerOptions = {},
  ): boolean {
    assertNonEmptyString('moduleId', moduleId);
    if (typeof handler !== 'function') throw new InvalidInputError('handler', handler, 'a function (run, ctx) => Promise<unknown>');
    const target = this.executor as RunExecutor & { registerHandler?: (m: string, h: typeof handler, o: RunHandlerOptions) => void };
    if (typeof target.registerHandler !== 'function') return false;
    target.registerHandler(moduleId, handler, options);
    return true;
  }
}

/**
 * Checks a run handed to startTask.
 * @throws InvalidInputError naming the field
 */
export function validateRun(run: Run): void {
  if (run === null || typeof run !== 'object') {
    throw new InvalidInputError('run', run, 'a Run object with runId, moduleId, moduleName, createdAt, parameters');
  }
  assertNonEmptyString('runId', run.runId);
  assertNonEmptyString('moduleId', run.moduleId);
  assertPlainJson('parameters', run.parameters);
  if (run.parameters === null || typeof run.parameters !== 'object' || Array.isArray(run.parameters)) {
    throw new InvalidInputError('parameters', run.parameters, 'a plain object of JSON data');
  }
  if (run.createdAt !== undefined && !(run.createdAt instanceof Date && !Number.isNaN(run.createdAt.getTime()))) {
    // describeValue cannot render an Invalid Date (toISOString throws), so name it instead.
    const shown = run.createdAt instanceof Date ? 'Invalid Date' : run.createdAt;
    throw new InvalidInputError('createdAt', shown, 'a valid Date (or omitted: now)');
  }
}
