import { createHash } from 'node:crypto';
import type { Run, RunStatus } from '../manager/types';
import type { EnqueueRequest } from '../queue/types';
import { isStorableName, MAX_IDEMPOTENCY_KEY_LENGTH, MAX_NAME_LENGTH } from '../queue/validation';
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
     * back (recovery, another process, a rollback) must still see the run's own id. Also written
     * when the run id itself is no queue key ({@link runKey}).
     */
    readonly runId?: string;
    /** The module id, written only when the task's type is not the module id ({@link taskType}). */
    readonly moduleId?: string;
  };
}

/**
 * `text` itself when the queue takes it as a name of at most `max` characters, else a digest of it.
 * The contract takes any non-empty string as a run or module id, but the queue stores keys and
 * types as well-formed Unicode (a lone surrogate would be read back as U+FFFD) of bounded length.
 * The digest is of the UTF-16 code units, so ids that differ only in lone surrogates stay apart.
 */
function queueName(text: string, max: number): string {
  if (isStorableName(text, max)) return text;
  return `sha256:${createHash('sha256').update(Buffer.from(text, 'utf16le')).digest('hex')}`;
}

/** The idempotency key of a run's task: its run id, or a digest of one the queue cannot store as a key. */
export function runKey(runId: string): string {
  return queueName(runId, MAX_IDEMPOTENCY_KEY_LENGTH);
}

/** The task type of a module's runs: its module id, or a digest of one the queue cannot store as a type. */
export function taskType(moduleId: string): string {
  return queueName(moduleId, MAX_NAME_LENGTH);
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
 * The payload of a run's row stored under `key` and `type` (a task of sqlite mode, a row of the
 * shadow mirror): where either is not the id itself ({@link runKey}, {@link taskType}), the payload
 * names the id, so every reader ({@link runIdOf}, {@link moduleIdOf}) gets the run's own ids back.
 */
export function storedPayload(run: Run, owner: string, key: string, type: string): RunPayload {
  const payload = toPayload(run, owner);
  if (key === run.runId && type === run.moduleId) return payload;
  return {
    ...payload,
    run: { ...payload.run, ...(key === run.runId ? {} : { runId: run.runId }), ...(type === run.moduleId ? {} : { moduleId: run.moduleId }) },
  };
}

/**
 * The queue task of a run started in sqlite mode: keyed by run id (or by `key`, when that is taken),
 * typed by module id, with the module's retry policy. Where the key or the type is not the id itself
 * ({@link runKey}, {@link taskType}), the payload names the id.
 * A `pinned` run (no handler: only this process holds its closure) requires `owner` as the
 * {@link OWNER_CAPABILITY}, so no other process's worker can claim it.
 */
export function runRequest(run: Run, owner: string, policy: RunRetryPolicy, pinned: boolean, key = runKey(run.runId)): EnqueueRequest {
  const b = policy.backoff;
  const type = taskType(run.moduleId);
  return {
    type,
    queue: RUN_QUEUE,
    payload: storedPayload(run, owner, key, type),
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
export function fromPayload(payload: unknown): { parameters: Record<string, unknown>; moduleName?: string; createdAt?: Date; owner?: string; runId?: string; moduleId?: string } {
  const p = payload as { parameters?: unknown } | null;
  const run = runFieldsOf(payload);
  if (run !== undefined) {
    const created = typeof run.createdAt === 'string' ? new Date(run.createdAt) : undefined;
    const runId = namedId(run.runId);
    const moduleId = namedId(run.moduleId);
    return {
      parameters: (p!.parameters ?? {}) as Record<string, unknown>,
      moduleName: typeof run.moduleName === 'string' ? run.moduleName : undefined,
      createdAt: created === undefined || Number.isNaN(created.getTime()) ? undefined : created,
      owner: typeof run.owner === 'string' ? run.owner : undefined,
      ...(runId === undefined ? {} : { runId }),
      ...(moduleId === undefined ? {} : { moduleId }),
    };
  }
  return { parameters: p !== null && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, unknown>) : {} };
}

/**
 * The `run` part of a payload of {@link toPayload}'s shape, its fields unchecked; undefined for any
 * other payload. Every field is checked by its reader: the payload is whatever some producer wrote,
 * and one malformed row must not stop recovery or the registry from reading the others.
 */
function runFieldsOf(payload: unknown): Partial<Record<keyof RunPayload['run'], unknown>> | undefined {
  const p = payload as { parameters?: unknown; run?: Partial<Record<keyof RunPayload['run'], unknown>> | null } | null;
  return p !== null && typeof p === 'object' && typeof p.run === 'object' && p.run !== null && typeof p.parameters === 'object' ? p.run : undefined;
}

function namedId(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

// These two read one field rather than the whole fromPayload: recovery asks runIdOf for every
// unfinished task of the queue, once per lease period.

/** The run id of a stored task: the one its payload names, else its key (null when it has neither). */
export function runIdOf(key: string | null, payload: unknown): string | null {
  return namedId(runFieldsOf(payload)?.runId) ?? key;
}

/** The module id of a stored task: the one its payload names, else its type. */
export function moduleIdOf(type: string, payload: unknown): string {
  return namedId(runFieldsOf(payload)?.moduleId) ?? type;
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
    moduleId: meta.moduleId ?? row.type,
    moduleName: meta.moduleName ?? meta.moduleId ?? row.type,
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
