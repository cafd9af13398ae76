import { RUN_QUEUE } from '../../src/compat';
import { runRequest } from '../../src/compat/run-payload';
import type { Clock } from '../../src/core/clock';
import type { Run } from '../../src/manager';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import type { Task } from '../../src/queue/types';

/** A run of module `reports` left queued in the file at `dbPath` by a sqlite-mode process that is gone. */
export async function leaveQueuedRun(dbPath: string, clock: Clock, runId: string): Promise<void> {
  const store = createSqliteTaskStore({ path: dbPath, clock });
  const run: Run = { runId, moduleId: 'reports', moduleName: 'Reports', status: 'queued', createdAt: new Date(clock.now()), parameters: {} };
  // Not pinned: its module has a handler, so a rollback may take it over.
  store.enqueueSync(runRequest(run, 'gone', { maxAttempts: 3, retryFailures: false, backoff: undefined }, false));
  await store.close();
}

/** The queue's task for `runId`, read on a connection of its own (as another process would). */
export async function queuedTask(dbPath: string, clock: Clock, runId: string): Promise<Task> {
  const store = createSqliteTaskStore({ path: dbPath, clock });
  try {
    const task = await store.getByIdempotencyKey(RUN_QUEUE, runId);
    if (task === undefined) throw new Error(`no task for run ${runId} in ${dbPath}`);
    return task;
  } finally {
    await store.close();
  }
}
