/**
 * The legacy contract's types (see migration-guide.md and the contract document). These names and
 * shapes are fixed: application code written against them must run unchanged in every mode.
 */
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];

/** One run of a piece of background work, as the application and the registry see it. */
export interface Run {
  /** Unique; chosen by the caller. */
  runId: string;
  /** The kind of work; the durable queue's task type. */
  moduleId: string;
  /** Human-readable label. */
  moduleName: string;
  status: RunStatus;
  createdAt: Date;
  startedAt?: Date;
  completedAt?: Date;
  durationSeconds?: number;
  /** 0..100 */
  progressPercent?: number;
  itemsProcessed?: number;
  itemsTotal?: number;
  /** 0 on success. */
  exitCode?: number;
  errorMessage?: string;
  /** Plain JSON data. */
  parameters: Record<string, unknown>;
}

/** What a piece of work receives while it runs. */
export interface TaskContext {
  readonly runId: string;
  /** Aborted when the run is cancelled (or times out). */
  readonly signal: AbortSignal;
  reportProgress(p: { percent?: number; itemsProcessed?: number; itemsTotal?: number }): void;
}

/** The async work of a run. */
export type TaskWork = (ctx: TaskContext) => Promise<unknown>;

/**
 * Retry policy of a durable handler (`registerHandler`'s third argument). Applies where runs go
 * through the durable queue (`sqlite` mode and the canary's queue side); in memory a failure stays
 * final, as it always was. Durations accept milliseconds or strings such as `'500ms'`, `'30s'`.
 */
export interface RunHandlerOptions {
  /** Attempts per run, 1..1000, counting crash recoveries too. Default 3 (one try, two recoveries). */
  maxAttempts?: number;
  /**
   * Retry a run whose work failed (rejected) while attempts remain, unless the error it rejected
   * with has `retryable: false` (as the queue's own handlers do). Default false: a failure is
   * final, exactly as in memory mode, and the extra attempts only recover crashes.
   */
  retryFailures?: boolean;
  /** Delay before attempt n+1: min(cap, base x factor^(n-1)), jittered. Defaults 1s, 2, 1h, 0.2. */
  backoff?: { base?: number | string; factor?: number; cap?: number | string; jitter?: number };
}

/**
 * The seam between BackgroundTaskManager (the fixed legacy facade) and the engine that runs the work.
 * `src/manager` ships the in-memory executor; `src/compat` supplies shadow and sqlite executors.
 * The manager validates input and records the run as `queued` before calling `start`.
 */
export interface RunExecutor {
  /** Schedules the run's work. Must not throw for failures of the work itself. */
  start(run: Run, work: TaskWork): void;
  /** The contract of BackgroundTaskManager.cancelTask. */
  cancel(runId: string): Promise<boolean>;
  /** Resolves when every run started so far has settled; never rejects. */
  waitAll(): Promise<void>;
  /** Run ids queued or running under this executor. */
  activeRunIds(): string[];
  isActive(runId: string): boolean;
}
