import type { Command } from 'commander';
import { isCanary, loadConfig, type TaskbridgeConfig } from '../compat/config';
import { mirrorFileReport } from '../compat/parity';
import { planRollback } from '../compat/rollback';
import { canaryPredicate, rolloutBucket } from '../compat/routing';
import { ReportedFailure, UsageError, contextOf, printJson, printLines } from './common';
import { keyValues, table } from './format';
import { requireSqliteFile } from './read-only';

/** Registers `mode`, `parity` and `rollback` (the migration commands). */
export function registerMigrationCommands(program: Command): void {
  program
    .command('mode')
    .description('the effective mode and routing from the TASKBRIDGE_* environment (what an application started here would do)')
    .option('--route <runId>', 'also tell where a run with this id would go')
    .option('--module <moduleId>', 'the moduleId of the --route run')
    .action((flags: { route?: string; module?: string }, command: Command) => {
      const ctx = contextOf(command);
      const config = loadConfig({ TASKBRIDGE_DB_PATH: ctx.dbPath });
      const routing = describeRouting(config);
      const route = flags.route === undefined ? undefined : routeOf(config, flags.route, flags.module);
      if (ctx.json) return printJson({ config, routing, ...(route ? { route } : {}) });
      printLines(
        keyValues([
          ['mode', config.mode],
          ['routing', routing.summary],
          ['database', config.dbPath],
          ['strategy', config.strategy],
          ['concurrency', config.concurrency],
          ['fallback', config.fallback],
          ['lease', `${config.leaseMs} ms`],
          ['poll interval', `${config.pollIntervalMs} ms`],
          ...(config.mode === 'shadow' ? [['mirror flush delay', `${config.mirrorFlushDelayMs} ms`] as [string, unknown]] : []),
          ...(route ? [['route', `run ${JSON.stringify(route.runId)} (bucket ${route.bucket}) -> ${route.destination}`] as [string, unknown]] : []),
        ]),
      );
    });

  program
    .command('parity')
    .description('shadow-mode mismatches between the mirror and the work queue in the database; exit 1 when any')
    .action((_flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      requireSqliteFile(ctx);
      const report = mirrorFileReport(ctx.dbPath);
      const mismatches = report.orphanedRunIds.length + report.divergentRunIds.length;
      if (ctx.json) printJson({ ok: mismatches === 0, mismatches, ...report });
      else {
        const mirrored = Object.entries(report.byStatus).map(([s, n]) => `${s} ${n}`).join(', ') || 'none';
        const lines = [`mirrored runs: ${mirrored}`];
        if (report.orphanedRunIds.length > 0) lines.push(`orphaned (unfinished, process gone): ${report.orphanedRunIds.join(', ')}`);
        if (report.divergentRunIds.length > 0) lines.push(`divergent (mirror and queue disagree): ${report.divergentRunIds.join(', ')}`);
        lines.push(mismatches === 0 ? 'parity ok: no mismatch' : `parity FAILED: ${mismatches} mismatch(es)`);
        printLines(...lines);
      }
      if (mismatches > 0) throw new ReportedFailure();
    });

  program
    .command('rollback')
    .description('with --dry-run: what flipping TASKBRIDGE_MODE back to memory would take over, leave waiting, or find busy')
    .option('--dry-run', 'report only (required: the rollback itself is setting TASKBRIDGE_MODE=memory and restarting)')
    .option('--handled-modules <ids>', 'comma-separated moduleIds the in-memory application has handlers for', (v: string) =>
      v.split(',').map((m) => m.trim()).filter((m) => m !== ''))
    .action((flags: { dryRun?: boolean; handledModules?: string[] }, command: Command) => {
      const ctx = contextOf(command);
      if (flags.dryRun !== true) {
        throw new UsageError('rollback only reports (--dry-run); to roll back, set TASKBRIDGE_MODE=memory and restart the application');
      }
      // A mistyped --db must not read as "nothing to lose": the runbook's go/stop check relies on this report.
      requireSqliteFile(ctx);
      const plan = planRollback(ctx.dbPath, { handledModules: flags.handledModules ?? [] });
      if (ctx.json) return printJson(plan);
      const lines = [
        `rollback plan for ${plan.dbPath}: ${plan.total} unfinished run(s) (${plan.queued} queued, ${plan.interrupted} interrupted, ${plan.runningElsewhere} running elsewhere)`,
        `taken over in memory: ${plan.takeOver.length}${plan.takeOver.length > 0 ? ` (${plan.takeOver.join(', ')})` : ''}`,
        `left waiting (no handler): ${plan.waiting.length}${plan.waiting.length > 0 ? ` (${plan.waiting.join(', ')})` : ''}`,
        `busy (leased by a live process; let it finish first): ${plan.busy.length}${plan.busy.length > 0 ? ` (${plan.busy.join(', ')})` : ''}`,
      ];
      if (plan.items.length > 0) {
        lines.push('', table(['RUN', 'TASK', 'MODULE', 'STATE', 'QUEUE', 'HANDLER'], plan.items.map((i) => [i.runId, i.taskId, i.moduleId, i.state, i.queue, i.hasHandler ? 'yes' : 'no'])));
      }
      printLines(...lines);
    });
}

interface Routing {
  readonly summary: string;
  readonly canary: boolean;
  readonly sqliteModules: readonly string[];
  readonly rolloutPercent: number;
}

function describeRouting(config: TaskbridgeConfig): Routing {
  const canary = config.mode === 'sqlite' && isCanary(config);
  let summary: string;
  if (config.mode === 'memory') summary = 'every run executes in memory (legacy behaviour); nothing is written to SQLite';
  else if (config.mode === 'shadow') summary = 'every run executes in memory and is mirrored to SQLite for parity checks';
  else if (!canary) summary = 'every run goes to the durable SQLite queue';
  else {
    const modules = config.sqliteModules.length > 0 ? `modules ${config.sqliteModules.join(', ')}` : 'every module';
    summary = `canary: runs of ${modules} whose runId bucket is below ${config.rolloutPercent}% go to SQLite; the rest run in memory`;
  }
  return { summary, canary, sqliteModules: config.sqliteModules, rolloutPercent: config.rolloutPercent };
}

function routeOf(config: TaskbridgeConfig, runId: string, moduleId: string | undefined): { runId: string; moduleId: string | null; bucket: number; destination: 'memory' | 'sqlite' } {
  // The rule the mode executor routes by, so this answer cannot drift from what an application does.
  // No moduleId matches no listed module (config refuses an empty one), as a run of an unlisted module.
  const toQueue = config.mode === 'sqlite' && canaryPredicate(config)({ runId, moduleId: moduleId ?? '' });
  return { runId, moduleId: moduleId ?? null, bucket: rolloutBucket(runId), destination: toQueue ? 'sqlite' : 'memory' };
}
