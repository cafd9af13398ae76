import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';
import { fileSize } from './maintenance/checkpoint';
import { integrityProblems, openMaintenanceConnection } from './maintenance/sqlite-file';
import { DEFAULT_STALE_AFTER_MS } from './metrics';
import { SqliteMetricsSource, type StaleWorker } from './sqlite/stats';

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

/**
 * Checks a database file: it opens and passes `PRAGMA quick_check`, its WAL is not runaway, and
 * reports stale workers and tasks that went dead in the last hour. Works on a damaged file too
 * (that is what it is for): every failure becomes a `fail` check, never an exception.
 */
export function health(options: HealthOptions): HealthReport {
  const file = path.resolve(options.path);
  const now = options.clock.now();
  const checks: HealthCheck[] = [];
  const databaseBytes = fileSize(file);
  const walBytes = fileSize(`${file}-wal`);
  let staleWorkers: StaleWorker[] = [];
  let deadLastHour: number | null = null;

  if (!fs.existsSync(file)) {
    checks.push({ name: 'database', status: 'fail', message: `database file ${file} does not exist` });
  } else {
    let db: ReturnType<typeof openMaintenanceConnection> | undefined;
    try {
      db = openMaintenanceConnection(file, { readonly: true });
      const problems = integrityProblems(db, 'quick_check');
      checks.push({ name: 'database', status: 'ok', message: `opened ${file}` });
      if (problems.length > 0) {
        checks.push({ name: 'integrity', status: 'fail', message: `quick_check found ${problems.length} problem(s): ${problems.slice(0, 3).join('; ')}` });
      } else {
        checks.push({ name: 'integrity', status: 'ok', message: 'quick_check ok' });
        const source = new SqliteMetricsSource(db);
        staleWorkers = source.staleWorkers(now - (options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS));
        deadLastHour = source.deadSince(now - HOUR_MS);
        checks.push(thresholdCheck('workers', staleWorkers.length, options.maxStaleWorkers, (n) =>
          `${n} stale worker(s)${n > 0 ? `: ${staleWorkers.map((w) => `${w.workerId} (pid ${w.pid}, last seen ${w.lastSeenAt.toISOString()})`).join(', ')}` : ''}`));
        checks.push(thresholdCheck('dead-tasks', deadLastHour, options.maxDeadLastHour, (n) => `${n} task(s) went dead in the last hour`));
      }
    } catch (error) {
      checks.push({ name: 'database', status: 'fail', message: `cannot read ${file}: ${(error as Error).message}` });
    } finally {
      db?.close();
    }
  }
  const maxWal = options.maxWalBytes ?? 1024 ** 3;
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

function thresholdCheck(name: HealthCheck['name'], value: number, max: number | undefined, describe: (n: number) => string): HealthCheck {
  const message = describe(value);
  if (max !== undefined && value > max) return { name, status: 'fail', message: `${message} (more than ${max})` };
  return { name, status: value > 0 ? 'warn' : 'ok', message };
}
