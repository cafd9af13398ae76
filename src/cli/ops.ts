import http from 'node:http';
import type { Command } from 'commander';
import { SystemClock } from '../core/clock';
import { InvalidOptionError } from '../core/errors';
import type { Logger } from '../core/logger';
import { health, storageFigures, type HealthReport } from '../queue/health';
import { DEFAULT_STALE_AFTER_MS, type QueueMetrics } from '../queue/metrics';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '../queue/prometheus';
import { TASK_STATUSES } from '../queue/types';
import { ReportedFailure, UsageError, contextOf, parseDurationArg, parseNonNegativeInt, printJson, printLines, untilStopped, type CommandContext } from './common';
import { formatBytes, formatDuration, formatInstant, formatPercent, keyValues, table } from './format';
import { ReadOnlyQueue, withReadOnlyQueue } from './read-only';
import { cliLogger, requireDatabase } from './store';

interface HealthFlags {
  staleAfter: number;
  maxStaleWorkers?: number;
  maxDeadLastHour?: number;
  maxWalMb?: number;
}

/** Registers `stats`, `health` and `serve`. */
export function registerOpsCommands(program: Command): void {
  program
    .command('stats')
    .description('counts by status, type and queue; throughput, wait, processing time, retry rate; workers')
    .option('--stale-after <duration>', 'a worker without heartbeat for this long is stale', parseDurationArg, DEFAULT_STALE_AFTER_MS)
    .action(async (flags: { staleAfter: number }, command: Command) => {
      const ctx = contextOf(command);
      const m = await withReadOnlyQueue(ctx, (queue) => queue.metrics(new SystemClock(), flags.staleAfter));
      if (ctx.json) return printJson(m);
      printLines(renderStats(m));
    });

  addHealthOptions(
    program
      .command('health')
      .description('integrity quick check, database and WAL size, stale workers, dead tasks in the last hour; exit 1 when unhealthy'),
  ).action((flags: HealthFlags, command: Command) => {
    const ctx = contextOf(command);
    // Refuses an invalid TASKBRIDGE_LOG_LEVEL (exit 2), as every other command does.
    cliLogger();
    const report = runHealth(ctx, flags);
    if (ctx.json) printJson(report);
    else printLines(renderHealth(report));
    if (!report.healthy) {
      if (!ctx.json) process.stderr.write(`unhealthy: ${report.reasons.join('; ')}\n`);
      throw new ReportedFailure();
    }
  });

  addHealthOptions(
    program
      .command('serve')
      .description('serve /metrics (Prometheus text) and /health (JSON, 503 when unhealthy) on 127.0.0.1 until SIGINT/SIGTERM')
      .option('--port <port>', 'TCP port on 127.0.0.1 (0 picks a free one)', parseNonNegativeInt, 9464),
  ).action(async (flags: HealthFlags & { port: number; staleAfter: number }, command: Command) => {
    // First, before any start-up work: a signal during the database check (which can wait up to
    // the busy timeout for a writer) must stop serve as one while it listens does, not kill it.
    await untilStopped(async (stopRequested) => {
      const ctx = contextOf(command);
      if (flags.port > 65_535) throw new UsageError(`--port must be 0..65535, got ${flags.port}`);
      requireDatabase(ctx);
      const logger = cliLogger();
      // Refuses a foreign or newer file before listening; each request then reads the file afresh.
      ReadOnlyQueue.open(ctx.dbPath).close();
      await serve(ctx, flags, logger, stopRequested);
    });
  });
}

function addHealthOptions(command: Command): Command {
  return command
    .option('--stale-after <duration>', 'a worker without heartbeat for this long is stale', parseDurationArg, DEFAULT_STALE_AFTER_MS)
    .option('--max-stale-workers <n>', 'unhealthy above this many stale workers (default: only warn)', parseNonNegativeInt)
    .option('--max-dead-last-hour <n>', 'unhealthy above this many tasks gone dead in the last hour (default: only warn)', parseNonNegativeInt)
    .option('--max-wal-mb <n>', 'unhealthy when the WAL is larger than this many MiB', parseNonNegativeInt, 1024);
}

function runHealth(ctx: CommandContext, flags: HealthFlags): HealthReport {
  return health({
    path: ctx.dbPath,
    clock: new SystemClock(),
    staleAfterMs: flags.staleAfter,
    maxStaleWorkers: flags.maxStaleWorkers,
    maxDeadLastHour: flags.maxDeadLastHour,
    maxWalBytes: flags.maxWalMb === undefined ? undefined : flags.maxWalMb * 1024 * 1024,
  });
}

/** The human `stats` output: one table per section. */
export function renderStats(m: QueueMetrics): string {
  const statusRow = (label: string, counts: Readonly<Record<string, number>>): (string | number)[] => [
    label,
    ...TASK_STATUSES.map((s) => counts[s] ?? 0),
    TASK_STATUSES.reduce((n, s) => n + (counts[s] ?? 0), 0),
  ];
  const headers = (first: string): string[] => [first, ...TASK_STATUSES.map((s) => s.toUpperCase()), 'TOTAL'];
  const recent = m.throughput.completedPerMinute.slice(-10);
  const sections = [
    `taskbridge stats at ${formatInstant(m.generatedAt)}`,
    '',
    table(headers('TASKS'), [statusRow('all', m.counts.byStatus)]),
    '',
    table(headers('TYPE'), Object.entries(m.counts.byType).map(([type, c]) => statusRow(type, c))),
    '',
    table(headers('QUEUE'), Object.entries(m.counts.byQueue).map(([queue, c]) => statusRow(queue, c))),
    '',
    keyValues([
      ['completed last hour', `${m.throughput.completedInWindow} (${m.throughput.averagePerMinute.toFixed(2)}/min)`],
      ['last 10 minutes', `${recent.join(' ')} per minute (oldest first)`],
      ['oldest queued', m.oldestQueuedAgeMs === null ? 'none waiting' : `waiting ${formatDuration(m.oldestQueuedAgeMs)}`],
      ['processing time', m.processingTimeMs.samples === 0
        ? 'no task completed in the last hour'
        : `p50 ${formatDuration(m.processingTimeMs.p50)}  p95 ${formatDuration(m.processingTimeMs.p95)}  p99 ${formatDuration(m.processingTimeMs.p99)}  (${m.processingTimeMs.samples} tasks)`],
      ['retry rate', `${formatPercent(m.retryRate)} of ${m.finishedInWindow} finished in the last hour`],
      ['dead last hour', m.deadInWindow],
      ['workers', `${m.workers.active} active, ${m.workers.stale} stale`],
    ]),
  ];
  if (m.workers.list.length > 0) {
    sections.push(
      '',
      table(
        ['WORKER', 'PID', 'HOST', 'QUEUE', 'CONC', 'STRATEGY', 'STATE', 'LAST SEEN', 'LEASES'],
        m.workers.list.map((w) => [
          w.workerId, w.pid, w.hostname, w.queue, w.concurrency, w.strategy, w.stale ? 'stale' : 'active',
          `${formatDuration(m.generatedAt.getTime() - w.lastSeenAt.getTime())} ago`,
          `${w.leases.active} active, ${w.leases.expired} expired`,
        ]),
      ),
    );
  }
  return sections.join('\n');
}

/** The human `health` output: one line per check, then the verdict. */
export function renderHealth(r: HealthReport): string {
  const lines = r.checks.map((c) => `${c.status.toUpperCase().padEnd(4)}  ${c.name.padEnd(10)}  ${c.message}`);
  lines.push('', `database ${r.path}: ${formatBytes(r.databaseBytes)}, WAL ${formatBytes(r.walBytes)}`);
  lines.push(r.healthy ? 'healthy' : `UNHEALTHY: ${r.reasons.join('; ')}`);
  return lines.join('\n');
}

/** Listens until `stopRequested` settles (at once when the signal came during start-up), then closes. */
async function serve(ctx: CommandContext, flags: HealthFlags & { port: number; staleAfter: number }, logger: Logger, stopRequested: Promise<NodeJS.Signals>): Promise<void> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' });
      res.end('method not allowed: use GET or HEAD\n');
      return;
    }
    void respond(req.url ?? '/', ctx, flags).then(
      ({ status, type, body }) => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      },
      (error: unknown) => {
        logger.error('serve: request failed', { url: req.url, error: (error as Error).message });
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`error: ${(error as Error).message}\n`);
      },
    );
  });
  // Localhost only: the endpoints are unauthenticated, so exposing them is the operator's explicit
  // choice (a reverse proxy), never this command's default.
  await listen(server, flags.port);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : flags.port;
  if (ctx.json) printJson({ listening: `http://127.0.0.1:${port}`, port, endpoints: ['/metrics', '/health'] });
  else printLines(`serving http://127.0.0.1:${port}/metrics and /health for ${ctx.dbPath} (Ctrl-C to stop)`);
  await stopRequested;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Scrapers keep connections alive; without this, close() would wait for them to time out.
  server.closeAllConnections();
  await closed;
}

/** Listens on 127.0.0.1:`port`; a port that cannot be had is the user's --port to change. */
async function listen(server: http.Server, port: number): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error;
    const why = code === 'EADDRINUSE' ? 'is in use by another process' : 'may not be bound by this user';
    throw new InvalidOptionError('--port', port, `a TCP port from 0 to 65535 that is free on 127.0.0.1 and this user may bind (0 picks a free one); ${port} ${why}`);
  }
}

async function respond(url: string, ctx: CommandContext, flags: HealthFlags & { staleAfter: number }): Promise<{ status: number; type: string; body: string }> {
  // A target that is no URL path (`//[`) is the client's mistake, not a failure to log.
  if (!URL.canParse(url, 'http://127.0.0.1')) return { status: 400, type: 'text/plain', body: 'bad request: the target is not a URL path\n' };
  const pathname = new URL(url, 'http://127.0.0.1').pathname;
  if (pathname === '/metrics') {
    // A connection per scrape: between scrapes serve holds nothing open, and a restored file is read as it is now.
    const queue = ReadOnlyQueue.open(ctx.dbPath);
    let m: QueueMetrics;
    try {
      m = await queue.metrics(new SystemClock(), flags.staleAfter);
    } finally {
      queue.close();
    }
    // File sizes only: health()'s quick_check reads every page, too much for every scrape.
    const text = await renderPrometheus(m, storageFigures(ctx.dbPath));
    return { status: 200, type: PROMETHEUS_CONTENT_TYPE, body: text };
  }
  if (pathname === '/health') {
    const report = runHealth(ctx, flags);
    return { status: report.healthy ? 200 : 503, type: 'application/json', body: `${JSON.stringify(report)}\n` };
  }
  return { status: 404, type: 'text/plain', body: 'not found: try /metrics or /health\n' };
}
