/**
 * Typed errors. Every error taskbridge raises on purpose is a {@link TaskbridgeError}
 * with a stable `code`, so callers can branch on `err.code` instead of parsing messages.
 */
import { cutText } from './cut-text';

/** Base class of every error taskbridge raises on purpose. */
export class TaskbridgeError extends Error {
  /** Stable machine-readable code, e.g. `TASKBRIDGE_INVALID_OPTION`. */
  readonly code: string;
  /** True when the same call may succeed if tried again later (busy database, full disk). */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Renders a rejected value for an error message without throwing on cycles or BigInt. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(cutText(value));
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : `Date(${value.toISOString()})`;
  if (value === undefined) return 'undefined';
  // JSON.stringify writes NaN and Infinity as null, which would name the wrong value.
  if (typeof value === 'number') return String(value);
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return cutText(text);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A configuration value or call argument outside what is accepted. */
export class InvalidOptionError extends TaskbridgeError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly accepted: string,
  ) {
    super('TASKBRIDGE_INVALID_OPTION', `Invalid ${field}: ${describeValue(value)}; accepted: ${accepted}`);
  }
}

/** A run/task input that cannot be accepted (missing id, non-JSON parameters, ...). */
export class InvalidInputError extends TaskbridgeError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly accepted: string,
  ) {
    super('TASKBRIDGE_INVALID_INPUT', `Invalid ${field}: ${describeValue(value)}; accepted: ${accepted}`);
  }
}

/** A payload larger than the configured limit. */
export class PayloadTooLargeError extends TaskbridgeError {
  constructor(
    readonly field: string,
    readonly bytes: number,
    readonly limitBytes: number,
  ) {
    super(
      'TASKBRIDGE_PAYLOAD_TOO_LARGE',
      `Invalid ${field}: ${bytes} bytes of JSON; accepted: at most ${limitBytes} bytes (option maxPayloadBytes)`,
    );
  }
}

/** `startTask`/`addRun` with a run id that is already present (and still active, for startTask). */
export class DuplicateRunError extends TaskbridgeError {
  constructor(readonly runId: string) {
    super('TASKBRIDGE_DUPLICATE_RUN', `Duplicate runId: ${JSON.stringify(runId)} is already present; accepted: a runId not in use`);
  }
}

/** The database file was written by a newer taskbridge schema than this build knows. */
export class SchemaTooNewError extends TaskbridgeError {
  constructor(
    readonly path: string,
    readonly fileVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      'TASKBRIDGE_SCHEMA_TOO_NEW',
      `Database ${path} has schema version ${fileVersion}, newer than the ${supportedVersion} this taskbridge supports; upgrade taskbridge (the file was not modified)`,
    );
  }
}

/** The file at the database path is not an SQLite database (or is damaged beyond opening). */
export class NotADatabaseError extends TaskbridgeError {
  constructor(readonly path: string, cause?: unknown) {
    super('TASKBRIDGE_NOT_A_DATABASE', `File ${path} is not a taskbridge SQLite database (the file was not modified)`, { cause });
  }
}

/** The database path cannot be created or written (permissions, read-only mount, a directory in the way). */
export class DatabaseUnavailableError extends TaskbridgeError {
  constructor(readonly path: string, reason: string, cause?: unknown) {
    super('TASKBRIDGE_DATABASE_UNAVAILABLE', `Database ${path} cannot be opened for writing: ${reason}`, { cause });
  }
}

/**
 * A path that exists but cannot be read as a database file (a folder, no read permission, a WAL
 * file whose shared-memory companion cannot be created): what the read-only reports and commands
 * raise. Same code as {@link DatabaseUnavailableError}, which says "for writing".
 */
export class DatabaseUnreadableError extends TaskbridgeError {
  constructor(readonly path: string, reason: string, cause?: unknown) {
    super('TASKBRIDGE_DATABASE_UNAVAILABLE', `Database ${path} cannot be opened for reading: ${reason}`, { cause });
  }
}

/** No database at the path a command or report only reads: it is never created by reading it. */
export class DatabaseMissingError extends TaskbridgeError {
  /** @param accepted what the caller accepts instead, e.g. how the path can be given */
  constructor(readonly path: string, accepted = 'the path of an existing taskbridge database (reading never creates one)') {
    super('TASKBRIDGE_DATABASE_MISSING', `database ${path} does not exist; accepted: ${accepted}`);
  }
}

/** The database stayed locked by another connection past busy_timeout and internal retries. */
export class StoreBusyError extends TaskbridgeError {
  constructor(operation: string, cause?: unknown) {
    super('TASKBRIDGE_BUSY', `Database busy during ${operation}: another connection held the write lock too long; retry later`, {
      retryable: true,
      cause,
    });
  }
}

/** The disk (or the database's max_page_count) is full; nothing from the failed call was written. */
export class StorageFullError extends TaskbridgeError {
  constructor(operation: string, cause?: unknown) {
    super('TASKBRIDGE_STORAGE_FULL', `Database full during ${operation}: nothing was written; free space and retry`, {
      retryable: true,
      cause,
    });
  }
}

/** A task id that does not exist. */
export class TaskNotFoundError extends TaskbridgeError {
  constructor(readonly taskId: number | string) {
    super('TASKBRIDGE_TASK_NOT_FOUND', `Task ${taskId} not found`);
  }
}

/** An operation that the task's current status does not allow (e.g. retry of a running task). */
export class InvalidTaskStateError extends TaskbridgeError {
  constructor(readonly taskId: number, readonly status: string, readonly accepted: string) {
    super('TASKBRIDGE_INVALID_STATE', `Task ${taskId} is ${status}; accepted: ${accepted}`);
  }
}

/** An attempt that ran longer than its `timeout`. Retryable like any other failure. */
export class TaskTimeoutError extends TaskbridgeError {
  constructor(readonly timeoutMs: number) {
    super('TASKBRIDGE_TIMEOUT', `Task timed out after ${timeoutMs} ms`, { retryable: true });
  }
}

/**
 * Throw this (or an error with `retryable === false`) from a handler to fail the task at once,
 * skipping remaining attempts.
 */
export class NonRetryableError extends TaskbridgeError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('TASKBRIDGE_NON_RETRYABLE', message, { retryable: false, cause: options.cause });
  }
}

/** A strategy name the factory does not know. */
export class UnknownStrategyError extends TaskbridgeError {
  constructor(readonly strategyName: unknown, readonly known: readonly string[]) {
    super(
      'TASKBRIDGE_UNKNOWN_STRATEGY',
      `Invalid strategy: ${describeValue(strategyName)}; accepted: ${known.join(', ')}`,
    );
  }
}

/** A configuration/environment value refused at start-up. */
export class ConfigError extends TaskbridgeError {
  constructor(readonly variable: string, readonly value: unknown, readonly accepted: string) {
    super('TASKBRIDGE_INVALID_CONFIG', `Invalid ${variable}: ${describeValue(value)}; accepted: ${accepted}`);
  }
}

/**
 * The database file changed under an open store: renamed over, deleted, overwritten in place,
 * truncated or made read-only. The store stops using it for good and closes without writing to it.
 */
export class DatabaseReplacedError extends TaskbridgeError {
  constructor(readonly path: string, readonly change: string) {
    super(
      'TASKBRIDGE_DATABASE_REPLACED',
      `Database ${path} ${change} while taskbridge had it open; the store stopped using it (the file was not modified). Put the database back or choose another path, then restart`,
    );
  }
}

/** `value instanceof Error`, false instead of a TypeError for a value that cannot be inspected (a revoked Proxy). */
export function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

/**
 * An Error's message as text. `message` and `name` are ordinary properties a library may set to
 * anything, and what reads them (the store, the registry's `errorMessage`) takes only a string.
 */
export function errorText(error: Error): string {
  const { message, name } = error as { message: unknown; name: unknown };
  if (typeof message === 'string' && message !== '') return message;
  if (message !== undefined && message !== null && message !== '') return describeValue(message);
  return typeof name === 'string' && name !== '' ? name : 'Error';
}

/**
 * The message recorded for whatever was thrown or rejected with, Error or not. Never throws: it
 * runs inside outcome handlers (a run's, a task's), where a value whose `message` getter throws, or
 * a revoked Proxy, would otherwise leave the run or task unfinished.
 */
export function describeThrown(error: unknown): string {
  try {
    if (error instanceof Error) return errorText(error);
    if (typeof error === 'string') return error;
    if (error !== null && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
      return (error as { message: string }).message;
    }
    return describeValue(error);
  } catch {
    return `[unreadable ${typeof error} value: reading its message threw]`;
  }
}
