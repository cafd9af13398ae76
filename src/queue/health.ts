import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../core/clock';
import { InvalidOptionError } from '../core/errors';
import type { Logger } from '../core/logger';
import { fileSize } from './maintenance/checkpoint';
import { integrityProblems, openMaintenanceConnection } from './maintenance/sqlite-file';
import { resolveStaleAfterMs } from './metrics';
import type { StorageFigures } from './prometheus';
import { readSchemaVersion } from './sqlite/migrations';
import { SqliteMetricsSource, type StaleWorker } from './sqlite/stats';
import { validateInteger } from './validation';

/** One line of a health report. `fail` makes the whole report unhealthy; `warn` does not. */
export interface HealthCheck {
  readonly name: 'database' | 'integrity' | 'wal' | 'workers' | 'dead-tasks';
  readonly status: 'ok' | 'warn' | 'fail';
  readonly message: string;
}

/** What `taskbridge health` and `/health` report. */
export interface HealthReport {
  readonly healthy: boolean;
  readonly checkedAt: Date;
  readonly path: string;
  readonly databaseBytes: number;
  readonly walBytes: number;
  readonly staleWorkers: readonly StaleWorker[];
  /** Tasks that went dead in the last hour; null when the database could not be read. */
  readonly deadLastHour: number | null;
  readonly checks: readonly HealthCheck[];
  /** The messages of the failed checks: why the database is unhealthy. */
  readonly reasons: readonly string[];
}

/** Settings of {@link health}. Every threshold is optional; without one the check only warns. */
export interface HealthOptions {
  /** Database file. It is opened read-only and never created. */
  path: string;
  clock: Clock;
  /** A worker without a heartbeat for this long is stale. Default 60,000 ms. */
  staleAfterMs?: number;
  /** Unhealthy when more workers than this are stale. Default: stale workers only warn. */
  maxStaleWorkers?: number;
  /** Unhealthy when more tasks than this went dead in the last hour. Default: dead tasks only warn. */
  maxDeadLastHour?: number;
  /** Unhealthy when the WAL is larger (checkpoints are starved). Default 1 GiB. */
  maxWalBytes?: number;
  logger?: Logger;
}

const HOUR_MS = 3_600_000;
const DEFAULT_MAX_WAL_BYTES = 1024 ** 3;

/** The thresholds of {@link HealthOptions} after validation, defaults applied. */
interface ResolvedHealthOptions {
  readonly staleAfterMs: number;
  readonly maxStaleWorkers: number | undefined;
  readonly maxDeadLastHour: number | undefined;
  readonly maxWalBytes: number;
}

/**
 * Refuses a threshold a comparison cannot use: `walBytes > NaN` is false for any size, so a NaN
 * limit would have reported a runaway WAL as healthy.
 */
function resolveHealthOptions(options: HealthOptions): ResolvedHealthOptions {
  if (typeof options.path !== 'string' || options.path.trim() === '') {
    throw new InvalidOptionError('path', options.path, 'a non-empty path of a database file');
  }
  const count = (field: string, value: number | undefined): number | undefined =>
    value === undefined ? undefined : validateInteger(field, value, 0, Number.MAX_SAFE_INTEGER);
  const maxWalBytes = options.maxWalBytes ?? DEFAULT_MAX_WAL_BYTES;
  if (typeof maxWalBytes !== 'number' || Number.isNaN(maxWalBytes) || maxWalBytes < 0) {
    throw new InvalidOptionError('maxWalBytes', options.maxWalBytes, 'a non-negative number of bytes (Infinity: never fail on size)');
  }
  return {
    staleAfterMs: resolveStaleAfterMs(options.staleAfterMs),
    maxStaleWorkers: count('maxStaleWorkers', options.maxStaleWorkers),
    maxDeadLastHour: count('maxDeadLastHour', options.maxDeadLastHour),
    maxWalBytes,
  };
}

/**
 * Checks a database file: it opens and passes `PRAGMA quick_check`, its WAL is not runaway, and
 * reports stale workers and tasks that went dead in the last hour. Works on a damaged file too
 * (that is what it is for): every failure becomes a `fail` check, never an exception. A file with
 * no taskbridge schema yet (empty, or `user_version` 0) reads as an empty queue.
 * @throws InvalidOptionError for an option outside what is accepted (naming it, the value and what is)
 */
export function health(options: HealthOptions): HealthReport {
  const settings = resolveHealthOptions(options);
  const file = path.resolve(options.path);
  const now = options.clock.now();
  const { databaseBytes, walBytes } = storageFigures(file);
  const { checks, staleWorkers, deadLastHour } = inspectDatabase(file, now, settings);
  const maxWal = settings.maxWalBytes;
  checks.push({
    name: 'wal',
    status: walBytes > maxWal ? 'fail' : 'ok',
    message: `database ${databaseBytes} bytes, WAL ${walBytes} bytes${walBytes > maxWal ? ` (over the ${maxWal}-byte limit: checkpoints are not keeping up)` : ''}`,
  });
  const reasons = checks.filter((c) => c.status === 'fail').map((c) => c.message);
  const report: HealthReport = {
    healthy: reasons.length === 0,
    checkedAt: new Date(now),
    path: file,
    databaseBytes,
    walBytes,
    staleWorkers,
    deadLastHour,
    checks,
    reasons,
  };
  if (!report.healthy) options.logger?.warn('health check failed', { path: file, reasons });
  return report;
}

/**
 * Sizes of the database file and its WAL, 0 for one that does not exist. Reads only the file
 * system: cheap enough for every scrape, unlike {@link health}, whose quick_check reads every page.
 */
export function storageFigures(file: string): StorageFigures {
  return { databaseBytes: fileSize(file), walBytes: fileSize(`${file}-wal`) };
}

/** What reading the file found: its checks, in report order, and the figures behind them. */
interface Inspection {
  readonly checks: HealthCheck[];
  readonly staleWorkers: StaleWorker[];
  readonly deadLastHour: number | null;
}

/** An inspection that stopped at `checks`, before the figures could be read. */
function unread(...checks: HealthCheck[]): Inspection {
  return { checks, staleWorkers: [], deadLastHour: null };
}

/**
 * Opens the file read-only (a missing one is a failed `database` check) and reads it. Every check
 * is pushed only once its reading succeeded, so a file that opens but whose tables cannot be read
 * gets one failed `database` check, not an `ok` one beside it.
 */
function inspectDatabase(file: string, now: number, settings: ResolvedHealthOptions): Inspection {
  if (!fs.existsSync(file)) return unread({ name: 'database', status: 'fail', message: `database file ${file} does not exist` });
  let db: ReturnType<typeof openMaintenanceConnection> | undefined;
  try {
    db = openMaintenanceConnection(file, { readonly: true });
    const problems = integrityProblems(db, 'quick_check');
    const opened: HealthCheck = { name: 'database', status: 'ok', message: `opened ${file}` };
    if (problems.length > 0) {
      return unread(opened, { name: 'integrity', status: 'fail', message: `quick_check found ${problems.length} problem(s): ${problems.slice(0, 3).join('; ')}` });
    }
    const { staleWorkers, deadLastHour } = readFigures(db, now, settings.staleAfterMs);
    return {
      checks: [
        opened,
        { name: 'integrity', status: 'ok', message: 'quick_check ok' },
        thresholdCheck('workers', staleWorkers.length, settings.maxStaleWorkers, (n) =>
          `${n} stale worker(s)${n > 0 ? `: ${staleWorkers.map((w) => `${w.workerId} (pid ${w.pid}, last seen ${w.lastSeenAt.toISOString()})`).join(', ')}` : ''}`),
        thresholdCheck('dead-tasks', deadLastHour, settings.maxDeadLastHour, (n) => `${n} task(s) went dead in the last hour`),
      ],
      staleWorkers,
      deadLastHour,
    };
  } catch (error) {
    return unread({ name: 'database', status: 'fail', message: `cannot read ${file}: ${(error as Error).message}` });
  } finally {
    db?.close();
  }
}

function readFigures(db: ReturnType<typeof openMaintenanceConnection>, now: number, staleAfterMs: number): { staleWorkers: StaleWorker[]; deadLastHour: number } {
  // No taskbridge schema yet (an empty file, user_version 0): an empty queue, as stats, list and
  // serve read it, rather than a "no such table" failure.
  if (readSchemaVersion(db) === 0) return { staleWorkers: [], deadLastHour: 0 };
  const source = new SqliteMetricsSource(db);
  return { staleWorkers: source.staleWorkers(now - staleAfterMs), deadLastHour: source.deadSince(now - HOUR_MS) };
}

function thresholdCheck(name: HealthCheck['name'], value: number, max: number | undefined, describe: (n: number) => string): HealthCheck {
  const message = describe(value);
  if (max !== undefined && value > max) return { name, status: 'fail', message: `${message} (more than ${max})` };
  return { name, status: value > 0 ? 'warn' : 'ok', message };
}
