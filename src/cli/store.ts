import fs from 'node:fs';
import { SystemClock, type Clock } from '../core/clock';
import { envValue, logLevelOf } from '../compat/config';
import { DatabaseMissingError } from '../core/errors';
import { createLogger, type Logger, type LogLevel } from '../core/logger';
import { createSqliteTaskStore, type SqliteTaskStore } from '../queue/store-factory';
import type { CommandContext } from './common';

/** What a writing command works with: the store, its clock and logger. */
export interface CliServices {
  readonly store: SqliteTaskStore;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The CLI's logger: JSON lines on stderr at TASKBRIDGE_LOG_LEVEL (default `warn`, or `fallback`). */
export function cliLogger(fallback: LogLevel = 'warn'): Logger {
  // Unset or empty: the command's default. Anything else must be a level (ConfigError, exit 2).
  return createLogger(logLevelOf(envValue(process.env, 'TASKBRIDGE_LOG_LEVEL'), fallback));
}

/**
 * The error of a command that needs an existing database (exit 1), saying how to give one: only
 * enqueue, worker and restore create a database.
 */
export function missingDatabase(dbPath: string): DatabaseMissingError {
  return new DatabaseMissingError(
    dbPath,
    'the path of an existing taskbridge database, given with --db PATH or TASKBRIDGE_DB_PATH (only enqueue, worker and restore create one)',
  );
}

/** Throws {@link missingDatabase} unless the database file exists: commands other than enqueue, worker and restore never create one. */
export function requireDatabase(ctx: Pick<CommandContext, 'dbPath'>): void {
  if (!fs.existsSync(ctx.dbPath)) throw missingDatabase(ctx.dbPath);
}

/**
 * Opens the store (creating the database only when `create` is set), runs `fn`, and closes
 * everything whatever happens.
 */
export async function withServices<T>(
  ctx: CommandContext,
  fn: (services: CliServices) => Promise<T> | T,
  options: { create?: boolean } = {},
): Promise<T> {
  if (options.create !== true) requireDatabase(ctx);
  const services = openServices(ctx);
  try {
    return await fn(services);
  } finally {
    await services.store.close();
  }
}

/**
 * Opens the store (creating the database when missing) for a long-running command (worker);
 * close it with `services.store.close()`.
 */
export function openServices(ctx: CommandContext, logger: Logger = cliLogger()): CliServices {
  const clock = new SystemClock();
  const store = createSqliteTaskStore({ path: ctx.dbPath, clock, logger });
  return { store, clock, logger };
}
