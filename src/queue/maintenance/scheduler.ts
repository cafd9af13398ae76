import type Database = require('better-sqlite3');
import { SystemClock, type Clock } from '../../core/clock';
import { MAX_TIMER_MS, parseDuration, type Duration } from '../../core/duration';
import { InvalidOptionError } from '../../core/errors';
import { createLogger, type Logger } from '../../core/logger';
import { refuseUnknownKeys } from '../../core/options';
import { checkpoint, validateCheckpointMode, type CheckpointMode } from './checkpoint';
import { cleanupFinishedTasks } from './retention';
import { rotatingBackup } from './rotation';
import { openMaintenanceConnection } from './sqlite-file';

/** The shortest interval a maintenance job runs at. */
const MIN_INTERVAL_MS = 1000;
/** The longest: what a Node timer waits. Node runs a longer timer after 1 ms, so the job would run back to back, forever. */
const MAX_INTERVAL_MS = MAX_TIMER_MS;
/** What a maintenance interval accepts, in the words of every refusal of one (the scheduler's and the CLI's). */
export const INTERVAL_ACCEPTED = `a duration from 1s to ${MAX_INTERVAL_MS} ms (about 24.8 days)`;

/**
 * The one rule for a maintenance interval, which `taskbridge worker --checkpoint-every` and the
 * like apply too: a duration from {@link MIN_INTERVAL_MS} to {@link MAX_INTERVAL_MS}.
 * @param field the option's name, used in the error message (`checkpoint.every`)
 * @returns the interval in whole milliseconds
 * @throws InvalidOptionError naming `field`, the value and {@link INTERVAL_ACCEPTED} (or, for a
 *   value that is no duration at all, what a duration is)
 */
export function parseInterval(field: string, value: Duration): number {
  const n = parseDuration(field, value);
  if (n < MIN_INTERVAL_MS || n > MAX_INTERVAL_MS) throw new InvalidOptionError(field, value, INTERVAL_ACCEPTED);
  return n;
}

/**
 * Opt-in periodic maintenance for a worker process. Every job is optional; durations are `ms`
 * strings or ms. An interval (`every`) is 1 s to 2^31 - 1 ms (about 24.8 days), the longest a timer
 * waits: see {@link parseInterval}.
 */
export interface MaintenanceOptions {
  /** The database file the worker uses. */
  path: string;
  checkpoint?: { every: Duration; mode?: CheckpointMode };
  /** Deletes finished tasks older than the given ages. */
  retention?: { every: Duration; completedOlderThan?: Duration; failedOlderThan?: Duration; cancelledOlderThan?: Duration };
  /** Verified backups into `directory`, keeping the newest `keep`. */
  backup?: { every: Duration; directory: string; keep: number };
  clock?: Clock;
  logger?: Logger;
  /**
   * Called before every job; when it throws, the job is skipped and maintenance stops for good.
   * A worker passes its store's `verifyFileSync`, so a database file replaced or overwritten while
   * the process runs is never checkpointed, cleaned or backed up into.
   */
  verifyFile?: () => void;
}

/** The jobs a {@link MaintenanceScheduler} can run. */
export type MaintenanceJob = 'checkpoint' | 'retention' | 'backup';

/**
 * Runs checkpoint, retention cleanup and rotating backups on timers inside a worker process.
 * Timers are unref'd, so maintenance never keeps a process alive on its own; a job is rescheduled
 * only after its previous run finished, so runs never overlap. A failing run is logged and the
 * next one still happens. It uses its own connection, separate from the store's.
 */
export class MaintenanceScheduler {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly intervals = new Map<MaintenanceJob, number>();
  private readonly timers = new Map<MaintenanceJob, NodeJS.Timeout>();
  private readonly running = new Map<MaintenanceJob, Promise<void>>();
  private started = false;
  private halted = false;

  /**
   * Every option is checked here, so a typo fails at start-up, not at the first run hours later.
   * @throws InvalidOptionError for an unknown option, a bad duration, keep count, backup folder or missing path
   */
  constructor(private readonly options: MaintenanceOptions) {
    if (typeof options?.path !== 'string' || options.path.trim() === '') throw new InvalidOptionError('path', options?.path, 'a database file path');
    // An unknown key is most often a misspelt one: ignored, it would silently keep tasks forever.
    refuseUnknownKeys('', options, OPTION_KEYS);
    this.clock = options.clock ?? new SystemClock();
    this.logger = options.logger ?? createLogger('info');
    if (options.checkpoint) {
      this.intervals.set('checkpoint', jobInterval('checkpoint', options.checkpoint));
      if (options.checkpoint.mode !== undefined) validateCheckpointMode('checkpoint.mode', options.checkpoint.mode);
    }
    if (options.retention) {
      this.intervals.set('retention', jobInterval('retention', options.retention));
      this.retentionPolicy();
    }
    if (options.backup) {
      this.intervals.set('backup', jobInterval('backup', options.backup));
      const { directory, keep } = options.backup;
      // path.resolve('') is the working directory: an empty folder would fill it with backups.
      if (typeof directory !== 'string' || directory.trim() === '') throw new InvalidOptionError('backup.directory', directory, 'a folder path');
      if (!Number.isInteger(keep) || keep < 1) throw new InvalidOptionError('backup.keep', keep, 'an integer >= 1');
    }
  }

  /** The jobs configured, with their interval in ms. */
  get jobs(): ReadonlyMap<MaintenanceJob, number> {
    return this.intervals;
  }

  /** Starts the timers; the first run of each job comes one interval from now. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const job of this.intervals.keys()) this.schedule(job);
    this.logger.info('maintenance scheduler started', { jobs: Object.fromEntries(this.intervals) });
  }

  /** Stops the timers and waits for runs in progress. */
  async stop(): Promise<void> {
    this.started = false;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.running.values());
  }

  /**
   * Runs one job now (also what the timers call). Errors of the job are logged, never thrown.
   * @throws InvalidOptionError (as a rejection) for a job this scheduler was not configured with
   */
  async runNow(job: MaintenanceJob): Promise<void> {
    if (!this.intervals.has(job)) {
      throw new InvalidOptionError('job', job, `one of the configured jobs: ${[...this.intervals.keys()].join(', ') || 'none'}`);
    }
    const inFlight = this.running.get(job);
    if (inFlight) return inFlight;
    const run = this.execute(job)
      .catch((error: unknown) => this.logger.error(`maintenance ${job} failed`, { error: (error as Error).message }))
      .finally(() => this.running.delete(job));
    this.running.set(job, run);
    return run;
  }

  private schedule(job: MaintenanceJob): void {
    // One timer per job: a start() after a stop() that is still waiting for a run would otherwise
    // add a second chain beside the one that run reschedules, which stop() could not clear.
    if (this.timers.has(job)) return;
    const timer = setTimeout(() => {
      this.timers.delete(job);
      void this.runNow(job).then(() => {
        if (this.started) this.schedule(job);
      });
    }, this.intervals.get(job));
    timer.unref();
    this.timers.set(job, timer);
  }

  private async execute(job: MaintenanceJob): Promise<void> {
    if (this.halted) return;
    try {
      this.options.verifyFile?.();
    } catch (error) {
      this.halt(error);
      return;
    }
    switch (job) {
      case 'checkpoint':
        this.withConnection((db) => checkpoint(db, { mode: this.options.checkpoint?.mode, logger: this.logger }));
        return;
      case 'retention':
        this.withConnection((db) => cleanupFinishedTasks(db, this.retentionPolicy(), { clock: this.clock, logger: this.logger }));
        return;
      case 'backup': {
        const b = this.options.backup!;
        await rotatingBackup(this.options.path, { directory: b.directory, keep: b.keep, clock: this.clock, logger: this.logger });
        return;
      }
    }
  }

  /** Stops every job once the database file is no longer the one the worker opened; logs once. */
  private halt(error: unknown): void {
    this.halted = true;
    this.started = false;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.logger.error('maintenance stopped: the database file changed', { error: (error as Error).message });
  }

  private retentionPolicy(): { completedOlderThanMs?: number; failedOlderThanMs?: number; cancelledOlderThanMs?: number } {
    const r = this.options.retention!;
    const age = (field: string, value: Duration | undefined): number | undefined =>
      value === undefined ? undefined : parseDuration(`retention.${field}`, value);
    return {
      completedOlderThanMs: age('completedOlderThan', r.completedOlderThan),
      failedOlderThanMs: age('failedOlderThan', r.failedOlderThan),
      cancelledOlderThanMs: age('cancelledOlderThan', r.cancelledOlderThan),
    };
  }

  /**
   * A connection for one run, closed before the run returns. Kept open between runs, it could be
   * the last connection to the file once the store closed, and SQLite checkpoints when the last
   * one closes: into a file that was overwritten meanwhile, it would copy the WAL over it. Here it
   * closes right after verifyFile passed, while the store's connections are still open.
   */
  private withConnection(fn: (db: Database.Database) => unknown): void {
    const db = openMaintenanceConnection(this.options.path);
    try {
      fn(db);
    } finally {
      db.close();
    }
  }
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['path', 'checkpoint', 'retention', 'backup', 'clock', 'logger', 'verifyFile']);
const JOB_KEYS: Record<MaintenanceJob, ReadonlySet<string>> = {
  checkpoint: new Set(['every', 'mode']),
  retention: new Set(['every', 'completedOlderThan', 'failedOlderThan', 'cancelledOlderThan']),
  backup: new Set(['every', 'directory', 'keep']),
};

/** Checks one job's options, an object of that job's known keys, and returns its interval in ms. */
function jobInterval(job: MaintenanceJob, value: unknown): number {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(job, value, `an object { ${[...JOB_KEYS[job]].join(', ')} }`);
  }
  refuseUnknownKeys(`${job}.`, value, JOB_KEYS[job]);
  return parseInterval(`${job}.every`, (value as { every: Duration }).every);
}
