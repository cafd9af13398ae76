/**
 * The example application of `taskbridge demo`. It is written only against the legacy API
 * (BackgroundTaskManager, RunRegistry, Run, TaskContext) plus the additive registerHandler, exactly
 * as an existing service would be: the mode it runs in comes from the flag, not from this code.
 */
import type { BackgroundTaskManager, Run, RunRegistry, TaskContext } from '../../manager';

/** A short pause that ends early when the run is cancelled. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('cancelled'));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('cancelled'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Works through `total` items in chunks, reporting progress as it goes. */
async function processItems(ctx: TaskContext, total: number, chunk: number, msPerChunk: number): Promise<void> {
  for (let done = 0; done < total; ) {
    await pause(msPerChunk, ctx.signal);
    done = Math.min(total, done + chunk);
    ctx.reportProgress({ percent: Math.round((done / total) * 100), itemsProcessed: done, itemsTotal: total });
  }
}

function newRun(batchId: string, moduleId: string, moduleName: string, parameters: Record<string, unknown>): Run {
  return { runId: `${batchId}-${moduleId}`, moduleId, moduleName, status: 'queued', createdAt: new Date(), parameters };
}

/** What the nightly batch expects each run to end as; the demo checks it. */
export const EXPECTED_OUTCOMES: Readonly<Record<string, Run['status']>> = {
  'import-customers': 'completed',
  'build-report': 'completed',
  'sync-crm': 'completed',
  'export-ledger': 'failed',
  'reindex-search': 'cancelled',
  'send-digest': 'completed',
};

/**
 * Starts the nightly batch: imports with progress, a report, a flaky CRM sync that succeeds on its
 * third attempt, a ledger export that keeps failing, and a search reindex that is cancelled midway.
 * Resolves when every run has settled.
 */
export async function runNightlyBatch(manager: BackgroundTaskManager, registry: RunRegistry, batchId: string): Promise<string[]> {
  // Flaky and failing integrations get the durable queue's retries with backoff; the rest keep the
  // legacy rule that a failure is final.
  const retry = { maxAttempts: 3, retryFailures: true, backoff: { base: '300ms', factor: 2, jitter: 0.1 } };
  manager.registerHandler('sync-crm', async (run, ctx) => syncCrm(run.runId, ctx), retry);
  manager.registerHandler('export-ledger', async () => exportLedger(), retry);

  const crmAttempts = new Map<string, number>();
  const syncCrm = async (runId: string, ctx: TaskContext): Promise<void> => {
    const attempt = (crmAttempts.get(runId) ?? 0) + 1;
    crmAttempts.set(runId, attempt);
    await processItems(ctx, 200, 50, 40);
    if (attempt < 3) throw new Error(`CRM API answered 503 (attempt ${attempt})`);
  };
  const exportLedger = async (): Promise<void> => {
    throw new Error('ledger service rejected the export: period 2026-10 is closed');
  };

  const runs = [
    newRun(batchId, 'import-customers', 'Import customers', { source: 'crm.csv', rows: 1000 }),
    newRun(batchId, 'build-report', 'Build the daily report', { day: '2026-11-22' }),
    newRun(batchId, 'sync-crm', 'Sync CRM contacts', { since: '2026-11-21' }),
    newRun(batchId, 'export-ledger', 'Export the ledger', { period: '2026-10' }),
    newRun(batchId, 'reindex-search', 'Reindex search', { index: 'products' }),
    newRun(batchId, 'send-digest', 'Send the digest e-mail', { audience: 'ops' }),
  ];
  const work: Record<string, (ctx: TaskContext) => Promise<unknown>> = {
    'import-customers': (ctx) => processItems(ctx, 1000, 100, 60),
    'build-report': (ctx) => processItems(ctx, 3, 1, 150),
    'sync-crm': (ctx) => syncCrm(ctx.runId, ctx),
    'export-ledger': () => exportLedger(),
    'reindex-search': (ctx) => processItems(ctx, 10_000, 250, 50),
    'send-digest': (ctx) => processItems(ctx, 40, 10, 80),
  };
  for (const run of runs) manager.startTask(run, work[run.moduleId]!);

  // Somebody decides the reindex is not needed tonight once it is a quarter done.
  const reindexId = `${batchId}-reindex-search`;
  const cancelWhenQuarterDone = (): Promise<void> =>
    new Promise((resolve) => {
      const check = setInterval(() => {
        const r = registry.getRun(reindexId);
        if (r === undefined || r.status === 'completed' || r.status === 'failed' || r.status === 'cancelled') {
          clearInterval(check);
          resolve();
        } else if ((r.progressPercent ?? 0) >= 25) {
          clearInterval(check);
          void manager.cancelTask(reindexId).then(() => resolve());
        }
      }, 20);
    });
  await cancelWhenQuarterDone();
  await manager.waitAll();
  return runs.map((r) => r.runId);
}
