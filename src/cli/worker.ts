import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Logger } from '../core/logger';
import { HandlerRegistry, type TaskHandler } from '../queue/handler-registry';
import { MaintenanceScheduler } from '../queue/maintenance/scheduler';
import type { SqliteTaskStore } from '../queue/store-factory';
import { Worker } from '../queue/worker';
import { resolveWorkerOptions, type WorkerOptions } from '../queue/worker-options';
import { UsageError, contextOf, parseCapabilities, parseDurationArg, parseNonBlankArg, parseIntervalArg, parsePositiveInt, printJson, printLines, untilStopped } from './common';
import { cliLogger, openServices } from './store';

interface WorkerFlags {
  handlers: string;
  queue?: string;
  concurrency?: number;
  strategy?: string;
  capabilities?: Record<string, string>;
  shutdownTimeout?: number;
  checkpointEvery?: number;
  cleanupEvery?: number;
  completedOlderThan?: number;
  failedOlderThan?: number;
  backupEvery?: number;
  backupDir?: string;
  backupKeep?: number;
}

/** Registers `worker`. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run the handlers a file exports until SIGINT/SIGTERM, then stop gracefully')
    .requiredOption('--handlers <file>', 'JavaScript file exporting { [type]: async (payload, ctx) => result }')
    .option('--queue <name>', 'queue to claim from (default: default)')
    .option('--concurrency <n>', 'handlers running at once (default 10)', parsePositiveInt)
    .option('--strategy <name>', 'claim order: fifo, lifo, priority, weighted-random (default fifo)')
    .option('--capabilities <k=v,...>', 'what this worker offers; it claims only tasks whose requirements these satisfy', parseCapabilities)
    .option('--shutdown-timeout <duration>', 'how long a stop waits for running handlers (default 30s)', parseDurationArg)
    .option('--checkpoint-every <duration>', 'maintenance: WAL checkpoint at this interval, e.g. 5m', parseIntervalArg)
    .option('--cleanup-every <duration>', 'maintenance: retention cleanup at this interval (with the -older-than ages)', parseIntervalArg)
    .option('--completed-older-than <duration>', 'retention: delete completed tasks older than this (default 7d)', parseDurationArg)
    .option('--failed-older-than <duration>', 'retention: delete dead tasks older than this (default 30d)', parseDurationArg)
    .option('--backup-every <duration>', 'maintenance: verified backup into --backup-dir at this interval', parseIntervalArg)
    .option('--backup-dir <dir>', 'folder of scheduled backups', parseNonBlankArg('a folder path'))
    .option('--backup-keep <n>', 'scheduled backups to keep (default 7)', parsePositiveInt)
    .action(async (flags: WorkerFlags, command: Command) => {
      // First, before any start-up work: loading handlers and opening the store (which can wait up
      // to the busy timeout for another writer) must not leave a window where a signal kills the
      // process instead of stopping it.
      await untilStopped((stopRequested) => runWorker(flags, command, stopRequested));
    });
}

/** The worker command once its stop listener is in place: `stopRequested` may already have settled. */
async function runWorker(flags: WorkerFlags, command: Command, stopRequested: Promise<NodeJS.Signals>): Promise<void> {
  const ctx = contextOf(command);
  refuseUnpairedFlags(flags);
  const registry = loadHandlers(flags.handlers);
  const logger = cliLogger('info');
  const options: WorkerOptions = {
    queue: flags.queue,
    concurrency: flags.concurrency,
    strategy: flags.strategy,
    capabilities: flags.capabilities,
    shutdownTimeout: flags.shutdownTimeout,
    logger,
  };
  // Every option is checked before the store opens, and so creates, the database: a typo is a
  // usage error with nothing touched. The scheduler checks its own; it verifies the store's file
  // only when a job runs, after start().
  resolveWorkerOptions(options);
  let store: SqliteTaskStore | undefined;
  const scheduler = maintenanceFor(ctx.dbPath, flags, logger, () => store?.verifyFileSync());
  const services = openServices(ctx, logger);
  store = services.store;
  try {
    const worker = new Worker(services.store, registry, { ...options, clock: services.clock });
    await worker.start();
    scheduler?.start();
    const info = {
      workerId: worker.workerId,
      pid: process.pid,
      db: ctx.dbPath,
      queue: worker.options.queue,
      concurrency: worker.options.concurrency,
      strategy: worker.options.strategy.name,
      types: registry.types(),
      maintenance: scheduler ? Object.fromEntries(scheduler.jobs) : {},
    };
    if (ctx.json) printJson({ event: 'started', ...info });
    else printLines(`worker ${info.workerId} started: queue ${info.queue}, ${info.concurrency} at once, ${info.strategy}, types ${info.types.join(', ')}`);
    // A replaced database file stops the worker for good: exit 1 with the store's message.
    const signal = await Promise.race([stopRequested, worker.halted]);
    if (signal instanceof Error) {
      await worker.stop();
      throw signal;
    }
    if (!ctx.json) printLines(`${signal} received: stopping (waiting for ${worker.activeCount} running task(s))`);
    await worker.stop();
    if (ctx.json) printJson({ event: 'stopped', workerId: worker.workerId, signal });
    else printLines(`worker ${worker.workerId} stopped`);
  } finally {
    await scheduler?.stop();
    await services.store.close();
  }
}

/**
 * Loads handlers ONLY from the given file, resolved to an absolute path against the working
 * directory (never through module resolution, so `--handlers lodash` cannot load a package).
 * The file exports `{ [type]: handler }` (CommonJS `module.exports` or an ESM default export).
 */
export function loadHandlers(file: string): HandlerRegistry {
  const absolute = path.resolve(process.cwd(), file);
  if (!fs.existsSync(absolute) || !fs.statSync(absolute).isFile()) throw new UsageError(`--handlers: no file at ${absolute}`);
  const loaded = require(absolute) as Record<string, unknown>;
  const exported = (loaded && typeof loaded.default === 'object' && loaded.default !== null ? loaded.default : loaded) as Record<string, unknown>;
  const registry = new HandlerRegistry();
  for (const [type, handler] of Object.entries(exported)) {
    if (type === '__esModule' || type === 'default') continue;
    if (typeof handler !== 'function') throw new UsageError(`--handlers: ${absolute} exports ${JSON.stringify(type)} which is not a function`);
    registry.register(type, handler as TaskHandler);
  }
  if (registry.size === 0) throw new UsageError(`--handlers: ${absolute} exports no handler functions; expected { [type]: async (payload, ctx) => result }`);
  return registry;
}

/**
 * A flag that only means something beside another one would otherwise be dropped in silence
 * (a retention age without `--cleanup-every` never deletes anything): refuse it as bad usage.
 */
function refuseUnpairedFlags(flags: WorkerFlags): void {
  const needs: [string, unknown, string, unknown][] = [
    ['--backup-every', flags.backupEvery, '--backup-dir', flags.backupDir],
    ['--completed-older-than', flags.completedOlderThan, '--cleanup-every', flags.cleanupEvery],
    ['--failed-older-than', flags.failedOlderThan, '--cleanup-every', flags.cleanupEvery],
    ['--backup-dir', flags.backupDir, '--backup-every', flags.backupEvery],
    ['--backup-keep', flags.backupKeep, '--backup-every', flags.backupEvery],
  ];
  for (const [flag, value, needed, neededValue] of needs) {
    if (value !== undefined && neededValue === undefined) throw new UsageError(`${flag} needs ${needed}`);
  }
}

function maintenanceFor(dbPath: string, flags: WorkerFlags, logger: Logger, verifyFile: () => void): MaintenanceScheduler | undefined {
  if (flags.checkpointEvery === undefined && flags.cleanupEvery === undefined && flags.backupEvery === undefined) return undefined;
  return new MaintenanceScheduler({
    path: dbPath,
    logger,
    verifyFile,
    checkpoint: flags.checkpointEvery === undefined ? undefined : { every: flags.checkpointEvery },
    retention: flags.cleanupEvery === undefined
      ? undefined
      : { every: flags.cleanupEvery, completedOlderThan: flags.completedOlderThan ?? '7d', failedOlderThan: flags.failedOlderThan ?? '30d' },
    backup: flags.backupEvery === undefined ? undefined : { every: flags.backupEvery, directory: flags.backupDir!, keep: flags.backupKeep ?? 7 },
  });
}
