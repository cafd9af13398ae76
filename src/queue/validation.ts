import { parseDuration } from '../core/duration';
import { InvalidInputError, InvalidOptionError, PayloadTooLargeError } from '../core/errors';
import { assertPlainJson } from '../core/json';
import { DEFAULT_BACKOFF, type ResolvedBackoff } from './backoff';
import type { Capabilities, ClaimRequest, EnqueueRequest } from './types';
import { refuseUnknownKeys } from '../core/options';

/** Defaults applied to enqueue options a caller leaves out. */
export const ENQUEUE_DEFAULTS = Object.freeze({
  queue: 'default',
  priority: 100,
  maxAttempts: 3,
});

/** Longest accepted queue name, type name, idempotency key, worker id. */
export const MAX_NAME_LENGTH = 200;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 1000;
export const MAX_PRIORITY = 1_000_000;
export const MAX_ATTEMPTS_LIMIT = 1000;
export const MAX_CLAIM_LIMIT = 10_000;
/** Longest lease a claim or heartbeat may grant: a year. */
export const MAX_LEASE_MS = 365 * 24 * 3_600_000;
/** The latest instant a Date can hold (ms): a later run-after time would read back as an Invalid Date. */
export const MAX_TIME_MS = 8.64e15;

const REQUEST_KEYS = new Set([
  'type', 'payload', 'queue', 'priority', 'delay', 'runAt', 'maxAttempts', 'backoff', 'timeout', 'idempotencyKey', 'requires',
]);
const BACKOFF_KEYS = new Set(['base', 'factor', 'cap', 'jitter']);
const CLAIM_KEYS = new Set(['workerId', 'queue', 'limit', 'leaseMs', 'strategy', 'capabilities', 'types', 'pinnedTypes']);

/** An enqueue request after validation: every default applied, JSON already serialised. */
export interface NormalizedEnqueue {
  readonly queue: string;
  readonly type: string;
  readonly payloadJson: string;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly runAfter: number;
  readonly timeoutMs: number | null;
  readonly idempotencyKey: string | null;
  readonly requires: Capabilities | null;
  readonly requiresJson: string | null;
  readonly backoff: ResolvedBackoff;
}

/** An object literal or `Object.create(null)`: not an array, class instance or null. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * True when the queue stores `value` as a name (type, queue, key) of at most `max` characters as it
 * is: a lone surrogate has no UTF-8 form, and SQLite would store U+FFFD instead.
 */
export function isStorableName(value: unknown, max = MAX_NAME_LENGTH): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max && !LONE_SURROGATE.test(value);
}

/** A non-empty string of at most `max` characters (any well-formed Unicode). */
export function validateName(field: string, value: unknown, max = MAX_NAME_LENGTH): string {
  if (!isStorableName(value, max)) {
    throw new InvalidOptionError(field, value, `a non-empty string of at most ${max} characters (well-formed Unicode)`);
  }
  return value;
}

/** An integer within [min, max]. */
export function validateInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(field, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function validateNumber(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidOptionError(field, value, `a finite number from ${min} to ${max}`);
  }
  return value;
}

/** A capabilities/requires map: string keys to string values. `{}` normalises to null (no requirement). */
export function validateCapabilities(field: string, value: unknown): Capabilities | null {
  const accepted = 'an object mapping non-empty string keys to string values, e.g. { region: "us" }';
  if (!isPlainObject(value)) throw new InvalidOptionError(field, value, accepted);
  const keys = Object.keys(value);
  for (const key of keys) {
    if (key.length === 0 || typeof value[key] !== 'string') throw new InvalidOptionError(`${field}.${key}`, value[key], accepted);
  }
  return keys.length === 0 ? null : (value as Capabilities);
}

export function validateBackoff(value: unknown): ResolvedBackoff {
  if (value === undefined) return DEFAULT_BACKOFF;
  if (!isPlainObject(value)) throw new InvalidOptionError('backoff', value, 'an object { base?, factor?, cap?, jitter? }');
  refuseUnknownKeys('backoff.', value, BACKOFF_KEYS);
  const baseMs = value.base === undefined ? DEFAULT_BACKOFF.baseMs : parseDuration('backoff.base', value.base as string);
  const factor = value.factor === undefined ? DEFAULT_BACKOFF.factor : validateNumber('backoff.factor', value.factor, 1, 1000);
  const capMs = value.cap === undefined ? DEFAULT_BACKOFF.capMs : parseDuration('backoff.cap', value.cap as string);
  const jitter = value.jitter === undefined ? DEFAULT_BACKOFF.jitter : validateNumber('backoff.jitter', value.jitter, 0, 1);
  return { baseMs, factor, capMs, jitter };
}

function validateRunAt(value: unknown): number {
  const accepted = `a valid Date or a non-negative integer of milliseconds since the epoch, at most ${MAX_TIME_MS}`;
  if (value instanceof Date) {
    const t = value.getTime();
    // An invalid Date is reported as text: rendering it through toISOString() would throw.
    if (Number.isNaN(t)) throw new InvalidOptionError('runAt', 'Invalid Date', accepted);
    if (t < 0) throw new InvalidOptionError('runAt', value, accepted);
    return t;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || Math.round(value) > MAX_TIME_MS) {
    throw new InvalidOptionError('runAt', value, accepted);
  }
  return Math.round(value);
}

/**
 * Validates one enqueue request and applies the defaults. Backend-neutral: every store calls it
 * before writing, so the same input is refused the same way everywhere.
 * @param now current time from the store's clock (ms)
 * @throws InvalidOptionError / InvalidInputError naming field, value and what is accepted
 * @throws PayloadTooLargeError when the JSON payload exceeds `maxPayloadBytes`
 */
export function normalizeEnqueueRequest(request: unknown, now: number, maxPayloadBytes: number, field = 'request'): NormalizedEnqueue {
  if (!isPlainObject(request)) throw new InvalidInputError(field, request, 'an object { type, payload?, ...options }');
  refuseUnknownKeys(`${field}.`, request, REQUEST_KEYS);
  const r = request as unknown as EnqueueRequest;
  const type = validateName('type', r.type);
  const queue = r.queue === undefined ? ENQUEUE_DEFAULTS.queue : validateName('queue', r.queue);
  const priority = r.priority === undefined ? ENQUEUE_DEFAULTS.priority : validateInteger('priority', r.priority, 0, MAX_PRIORITY);
  const maxAttempts =
    r.maxAttempts === undefined ? ENQUEUE_DEFAULTS.maxAttempts : validateInteger('maxAttempts', r.maxAttempts, 1, MAX_ATTEMPTS_LIMIT);
  if (r.delay !== undefined && r.runAt !== undefined) {
    throw new InvalidOptionError('delay', r.delay, 'either delay or runAt, not both');
  }
  let runAfter = now;
  if (r.delay !== undefined) {
    runAfter = now + parseDuration('delay', r.delay);
    if (runAfter > MAX_TIME_MS) throw new InvalidOptionError('delay', r.delay, `a duration that ends by ${new Date(MAX_TIME_MS).toISOString()}`);
  } else if (r.runAt !== undefined) runAfter = validateRunAt(r.runAt);
  const timeoutMs = r.timeout === undefined ? null : parseDuration('timeout', r.timeout);
  if (timeoutMs === 0) throw new InvalidOptionError('timeout', r.timeout, 'a positive duration such as 30s (leave it out for no timeout)');
  const idempotencyKey =
    r.idempotencyKey === undefined ? null : validateName('idempotencyKey', r.idempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH);
  const requires = r.requires === undefined ? null : validateCapabilities('requires', r.requires);
  const backoff = validateBackoff(r.backoff);
  const payloadJson = r.payload === undefined || r.payload === null ? 'null' : boundedJson('payload', r.payload, maxPayloadBytes);
  return {
    queue, type, payloadJson, priority, maxAttempts, runAfter, timeoutMs, idempotencyKey, requires,
    requiresJson: requires === null ? null : JSON.stringify(requires),
    backoff,
  };
}

/** A claim request after validation. */
export interface NormalizedClaim {
  readonly workerId: string;
  readonly queue: string;
  readonly limit: number;
  readonly leaseMs: number;
  readonly capabilitiesJson: string | null;
  readonly typesJson: string | null;
  readonly typeCount: number;
  /** JSON array of {@link ClaimRequest.pinnedTypes}; null when none. */
  readonly pinnedTypesJson: string | null;
}

/**
 * Validates a claim request (strategy shape is checked by the store that maps it to SQL).
 * @throws InvalidOptionError naming field, value and what is accepted
 */
export function normalizeClaimRequest(request: ClaimRequest, defaultLeaseMs: number): NormalizedClaim {
  if (!isPlainObject(request)) throw new InvalidInputError('claim', request, 'an object { workerId, limit, leaseMs, strategy, ... }');
  refuseUnknownKeys('claim.', request, CLAIM_KEYS);
  const workerId = validateName('workerId', request.workerId);
  const queue = request.queue === undefined ? ENQUEUE_DEFAULTS.queue : validateName('queue', request.queue);
  const limit = validateInteger('limit', request.limit, 1, MAX_CLAIM_LIMIT);
  const leaseMs = request.leaseMs === undefined ? defaultLeaseMs : validateInteger('leaseMs', request.leaseMs, 1, MAX_LEASE_MS);
  if (request.strategy === null || typeof request.strategy !== 'object') {
    throw new InvalidOptionError('strategy', request.strategy, "a Strategy object of kind 'ordered' or 'level-picking'");
  }
  let capabilitiesJson: string | null = null;
  if (request.capabilities !== undefined) {
    const caps = validateCapabilities('capabilities', request.capabilities);
    capabilitiesJson = caps === null ? null : JSON.stringify(caps);
  }
  const types = request.types === undefined ? undefined : validateTypeNames('types', request.types);
  const pinned = request.pinnedTypes === undefined ? undefined : validateTypeNames('pinnedTypes', request.pinnedTypes);
  return {
    workerId, queue, limit, leaseMs, capabilitiesJson,
    typesJson: types === undefined ? null : JSON.stringify(types),
    typeCount: types === undefined ? -1 : types.length,
    // No pinned types is the same claim as none given: the claim keeps its plain shape.
    pinnedTypesJson: pinned === undefined || pinned.length === 0 ? null : JSON.stringify(pinned),
  };
}

/** An array of task type names (a claim's `types` or `pinnedTypes`). */
function validateTypeNames(field: string, value: unknown): readonly string[] {
  if (!Array.isArray(value)) throw new InvalidOptionError(field, value, 'an array of task type names');
  value.forEach((t, i) => validateName(`${field}[${i}]`, t));
  return value as readonly string[];
}

const PROGRESS_KEYS = new Set(['percent', 'itemsProcessed', 'itemsTotal']);

/** Validates a progress report: percent 0..100, item counts non-negative integers. */
export function validateProgress(progress: unknown): string {
  if (!isPlainObject(progress)) throw new InvalidOptionError('progress', progress, 'an object { percent?, itemsProcessed?, itemsTotal? }');
  refuseUnknownKeys('progress.', progress, PROGRESS_KEYS);
  if (progress.percent !== undefined) validateNumber('progress.percent', progress.percent, 0, 100);
  if (progress.itemsProcessed !== undefined) validateInteger('progress.itemsProcessed', progress.itemsProcessed, 0, Number.MAX_SAFE_INTEGER);
  if (progress.itemsTotal !== undefined) validateInteger('progress.itemsTotal', progress.itemsTotal, 0, Number.MAX_SAFE_INTEGER);
  return JSON.stringify(progress);
}

/** A task id: a positive safe integer. */
export function validateTaskId(taskId: unknown): number {
  if (typeof taskId !== 'number' || !Number.isSafeInteger(taskId) || taskId < 1) {
    throw new InvalidOptionError('taskId', taskId, 'a positive integer task id');
  }
  return taskId;
}

/** Validates the (taskId, token) pair of a fenced write. */
export function validateFence(taskId: unknown, token: unknown): void {
  validateTaskId(taskId);
  if (typeof token !== 'number' || !Number.isSafeInteger(token) || token < 0) {
    throw new InvalidOptionError('token', token, 'the non-negative integer fencing token returned by claim');
  }
}

/** Longest stored error text; a runaway stack trace must not bloat the row. */
export const MAX_ERROR_LENGTH = 8000;

/** Validates an attempt error and returns its stored text and retryability. */
export function validateAttemptError(error: unknown): { message: string; retryable: boolean } {
  if (error === null || typeof error !== 'object') throw new InvalidOptionError('error', error, 'an object { message: string, retryable?: boolean }');
  const e = error as { message?: unknown; retryable?: unknown };
  if (typeof e.message !== 'string') throw new InvalidOptionError('error.message', e.message, 'a string');
  if (e.retryable !== undefined && typeof e.retryable !== 'boolean') throw new InvalidOptionError('error.retryable', e.retryable, 'true or false');
  const message = e.message.length > MAX_ERROR_LENGTH ? `${e.message.slice(0, MAX_ERROR_LENGTH - 3)}...` : e.message;
  return { message, retryable: e.retryable !== false };
}

/** Serialises a handler's result, refusing non-JSON values and oversized output. */
export function serializeResult(result: unknown, maxBytes: number): string | null {
  return result === undefined || result === null ? null : boundedJson('result', result, maxBytes);
}

/** Plain JSON data serialised, at most `maxBytes` of UTF-8. @throws InvalidInputError, PayloadTooLargeError naming `field` */
function boundedJson(field: string, value: unknown, maxBytes: number): string {
  assertPlainJson(field, value);
  const json = JSON.stringify(value);
  assertJsonSize(field, json, maxBytes);
  return json;
}

/** Refuses serialised JSON over `maxBytes` of UTF-8. @throws PayloadTooLargeError naming `field` and both sizes */
export function assertJsonSize(field: string, json: string, maxBytes: number): void {
  // Most values are far below the limit in any encoding; only measure bytes when it could matter.
  if (json.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > maxBytes) throw new PayloadTooLargeError(field, bytes, maxBytes);
  }
}
