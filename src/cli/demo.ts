import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { installFlagExecutorFactory } from '../compat/flag';
import { envValue } from '../compat/config';
import { closeModeExecutor } from '../compat/mode-executor';
import { SystemClock } from '../core/clock';
import { BackgroundTaskManager, RunRegistry, type Run } from '../manager';
import { isMemoryPath } from '../queue/sqlite/connection';
import { ReportedFailure, UsageError, contextOf, printJson, printLines } from './common';
import { EXPECTED_OUTCOMES, runNightlyBatch } from './demo/legacy-app';
import { renderStats } from './ops';
import { withReadOnlyQueue } from './read-only';

const FINISHED = new Set(['completed', 'failed', 'cancelled']);

/** One line per state change and per quarter of progress, so a person can follow the batch. */
function followRegistry(registry: RunRegistry, write: (line: string) => void): () => void {
  const lastQuarter = new Map<string, number>();
  const lastStatus = new Map<string, string>();
  return registry.subscribe((run: Run) => {
    const stamp = new Date().toISOString().slice(11, 23);
    const label = run.moduleId.padEnd(17);
    if (lastStatus.get(run.runId) !== run.status) {
      lastStatus.set(run.runId, run.status);
      const detail = run.status === 'failed' || (run.status === 'queued' && run.errorMessage) ? `  (${run.errorMessage})` : '';
      const took = FINISHED.has(run.status) && run.durationSeconds !== undefined ? `  after ${run.durationSeconds.toFixed(2)} s` : '';
      write(`${stamp}  ${label} ${run.status}${took}${detail}`);
      return;
    }
    const quarter = Math.floor((run.progressPercent ?? 0) / 25);
    if (run.status === 'running' && quarter > (lastQuarter.get(run.runId) ?? 0)) {
      lastQuarter.set(run.runId, quarter);
      const items = run.itemsTotal === undefined ? '' : ` (${run.itemsProcessed}/${run.itemsTotal} items)`;
      write(`${stamp}  ${label} ${String(run.progressPercent).padStart(3)}%${items}`);
    }
  });
}

/** Registers `taskbridge demo`: the README's main job. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run an example legacy application in sqlite mode on the database, show its progress, then the stats')
    .action(async (_flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      // In memory the batch would run and vanish before its stats could be read.
      if (isMemoryPath(ctx.dbPath)) {
        throw new UsageError(`Invalid --db (or TASKBRIDGE_DB_PATH): ${JSON.stringify(ctx.dbPath)}; accepted: a database file path (the demo reads its stats back)`);
      }
      const write = ctx.json ? () => undefined : (line: string) => printLines(line);
      // The example app is unchanged legacy code: the flag alone moves it onto the durable queue.
      installFlagExecutorFactory({
        TASKBRIDGE_MODE: 'sqlite',
        TASKBRIDGE_DB_PATH: ctx.dbPath,
        // A canary or fallback exported in the shell for an application would otherwise send the
        // batch to memory (no retries: an unexpected failure) while the demo says sqlite.
        TASKBRIDGE_SQLITE_MODULES: Object.keys(EXPECTED_OUTCOMES),
        TASKBRIDGE_ROLLOUT_PERCENT: 100,
        TASKBRIDGE_FALLBACK: 'refuse',
        TASKBRIDGE_POLL_INTERVAL: '50ms',
        // The failures are part of the show and already printed above; JSON log lines would bury them.
        // Unset (or empty, as the flag reads it): the demo's own quiet default.
        ...(envValue(process.env, 'TASKBRIDGE_LOG_LEVEL') === undefined ? { TASKBRIDGE_LOG_LEVEL: 'silent' } : {}),
      });
      const registry = new RunRegistry();
      const manager = new BackgroundTaskManager(registry);
      const batchId = `nightly-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${randomBytes(2).toString('hex')}`;
      write(`taskbridge demo: a legacy app's nightly batch ${batchId}, mode sqlite, database ${ctx.dbPath}`);
      const unfollow = followRegistry(registry, write);
      let runIds: string[];
      try {
        runIds = await runNightlyBatch(manager, registry, batchId);
      } finally {
        unfollow();
        await closeModeExecutor(manager.executor);
      }

      const outcomes = runIds.map((id) => registry.getRun(id)!);
      const surprises = outcomes.filter((r) => EXPECTED_OUTCOMES[r.moduleId] !== r.status);
      // The figures `stats` would print for the database now.
      const figures = await withReadOnlyQueue(ctx, (queue) => queue.metrics(new SystemClock()));
      if (ctx.json) {
        printJson({ batchId, dbPath: ctx.dbPath, runs: outcomes, metrics: figures, asExpected: surprises.length === 0 });
      } else {
        printLines(
          '',
          `Batch ${batchId}: ${outcomes.map((r) => `${r.moduleId} ${r.status}`).join(', ')}`,
          '',
          renderStats(figures),
          '',
          'Inspect the result:',
          `  npx taskbridge stats --db ${ctx.dbPath}`,
          `  npx taskbridge list --db ${ctx.dbPath} --limit 20`,
          `  npx taskbridge health --db ${ctx.dbPath}`,
        );
      }
      if (surprises.length > 0) {
        process.stderr.write(`demo: unexpected outcomes: ${surprises.map((r) => `${r.moduleId} ${r.status}`).join(', ')}\n`);
        throw new ReportedFailure();
      }
    });
}
