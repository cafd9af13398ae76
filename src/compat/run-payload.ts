import type { Run, RunStatus } from '../manager/types';
import type { EnqueueRequest } from '../queue/types';
import type { RunRetryPolicy } from './handlers';

/** Queue holding the shadow mirror. Separate from the work queue so no worker ever claims a mirror row. */
export const SHADOW_QUEUE = 'taskbridge.shadow';
/** Capability key that pins a closure-only run to the executor that holds the closure. */
export const OWNER_CAPABILITY = 'taskbridge.owner';
/** Queue that sqlite mode enqueues runs into (the store's default queue). */
export const RUN_QUEUE = 'default';

/**
 * What a run's task payload holds. `parameters` is the run's parameters as JSON; `run` carries the
 * rest of the legacy record that a process other than the one that started the run needs.
 */
export interface RunPayload {
  readonly parameters: Record<string, unknown>;
  readonly run: {
    readonly moduleName: string;
    /** ISO time the run was created. */
    readonly createdAt: string;
    /**
     * Executor instance that started the run: its closure is only available there, and while that
     * process lives the run is its (recovery elsewhere leaves it alone).
     */
    readonly owner: string;
    /**
     * The run id, written only when the task's key is not the run id: a run started again while its
     * previous task still held the key gets a task under a suffixed key, and whoever reads that task
     * back (recovery, another process, a rollback) must still see the run's own id.
     */
    readonly runId?: string;
  };
}

/**
 * Builds the payload of a run. `parameters` is the run's (a registry copy): the store serialises it
 * once when it writes the row, which is also where Dates in it become ISO strings.
 */
export function toPayload(run: Run, owner: string): RunPayload {
  return {
    parameters: run.parameters ?? {},
    run: { moduleName: run.moduleName, createdAt: run.createdAt.toISOString(), owner },
  };
}

/**
 * The queue task of a run started in sqlite mode: keyed by run id (or by `key`, when that is taken:
 * the payload then names the run id), with the module's retry policy.
 * A `pinned` run (no handler: only this process holds its closure) requires `owner` as the
 * {@link OWNER_CAPABILITY}, so no other process's worker can claim it.
 */
export function runRequest(run: Run, owner: string, policy: RunRetryPolicy, pinned: boolean, key = run.runId): EnqueueRequest {
  const b = policy.backoff;
  const payload = toPayload(run, owner);
  return {
    type: run.moduleId,
    queue: RUN_QUEUE,
    payload: key === run.runId ? payload : { ...payload, run: { ...payload.run, runId: run.runId } },
    idempotencyKey: key,
    maxAttempts: policy.maxAttempts,
    ...(b === undefined ? {} : { backoff: { base: b.baseMs, factor: b.factor, cap: b.capMs, jitter: b.jitter } }),
    ...(pinned ? { requires: { [OWNER_CAPABILITY]: owner } } : {}),
  };
}

/**
 * Reads a payload written by {@link toPayload}; tolerant of a bare-parameters payload from other
 * producers. `owner` is undefined when the payload does not name its starter (another producer's
 * row): recovery then cannot tell whether that process lives.
 */
export function fromPayload(payload: unknown): { parameters: Record<string, unknown>; moduleName?: string; createdAt?: Date; owner?: string; runId?: string } {
  const p = payload as { parameters?: unknown; run?: Partial<Record<keyof RunPayload['run'], unknown>> | null } | null;
  // Every field is checked: the payload is whatever some producer wrote, and one malformed row
  // must not stop recovery or the registry from reading the others.
  if (p !== null && typeof p === 'object' && typeof p.run === 'object' && p.run !== null && typeof p.parameters === 'object') {
    const created = typeof p.run.createdAt === 'string' ? new Date(p.run.createdAt) : undefined;
    return {
      parameters: (p.parameters ?? {}) as Record<string, unknown>,
      moduleName: typeof p.run.moduleName === 'string' ? p.run.moduleName : undefined,
      createdAt: created === undefined || Number.isNaN(created.getTime()) ? undefined : created,
      owner: typeof p.run.owner === 'string' ? p.run.owner : undefined,
      ...(typeof p.run.runId === 'string' && p.run.runId !== '' ? { runId: p.run.runId } : {}),
    };
  }
  return { parameters: p !== null && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, unknown>) : {} };
}

/** The run id of a stored task: the one its payload names, else its key (null when it has neither). */
export function runIdOf(key: string | null, payload: unknown): string | null {
  return fromPayload(payload).runId ?? key;
}

/** Rebuilds a legacy run record from a stored row (for runs this process did not start). */
export function runFromRow(row: {
  key: string | null; type: string; status: RunStatus; createdAt: number | Date; startedAt: number | Date | null;
  finishedAt: number | Date | null; lastError: string | null; payload: unknown;
}): Run {
  const meta = fromPayload(row.payload);
  const at = (v: number | Date | null): Date | undefined => (v === null ? undefined : new Date(v));
  const run: Run = {
    runId: meta.runId ?? row.key ?? '',
    moduleId: row.type,
    moduleName: meta.moduleName ?? row.type,
    status: row.status,
    createdAt: meta.createdAt ?? (at(row.createdAt) as Date),
    parameters: meta.parameters,
  };
  return { ...run, ...outcomeFields(row) };
}

/** The registry fields that follow from a stored row's status and times. */
export function outcomeFields(row: {
  status: RunStatus; startedAt: number | Date | null; finishedAt: number | Date | null; lastError: string | null;
}): Partial<Run> {
  const ms = (v: number | Date | null): number | undefined => (v === null ? undefined : typeof v === 'number' ? v : v.getTime());
  const started = ms(row.startedAt);
  const finished = ms(row.finishedAt);
  const patch: Partial<Run> = { status: row.status };
  if (started !== undefined) patch.startedAt = new Date(started);
  if (finished !== undefined && row.status !== 'queued' && row.status !== 'running') {
    patch.completedAt = new Date(finished);
    patch.durationSeconds = started === undefined ? 0 : Math.max(0, finished - started) / 1000;
  }
  if (row.status === 'completed') patch.exitCode = 0;
  if (row.status === 'failed' && row.lastError !== null) patch.errorMessage = row.lastError;
  return patch;
}
