import type { ShadowRunExecutor } from '../../src/compat';
import { checkParityWithFile } from '../../src/compat';
import { PayloadTooLargeError } from '../../src/core/errors';
import type { Run } from '../../src/manager';
import { withModeManager } from './helpers';

const run = (runId: string, parameters: Record<string, unknown>): Run => ({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters });
// Over the queue's default maxPayloadBytes (1 MiB) once serialised.
const huge = { blob: 'x'.repeat(1024 * 1024 + 1) };

describe('shadow mode and runs whose parameters are huge', () => {
  it('sqlite mode refuses the run at startTask: the rehearsal must say so', async () => {
    await withModeManager({ TASKBRIDGE_MODE: 'sqlite' }, async ({ manager }) => {
      expect(() => manager.startTask(run('huge', huge), async () => undefined)).toThrow(PayloadTooLargeError);
    });
  });

  it('shadow mode runs and mirrors it as before, and counts a TASKBRIDGE_PAYLOAD_TOO_LARGE fault naming the run', async () => {
    await withModeManager<ShadowRunExecutor>({ TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_MIRROR_FLUSH_DELAY: '10m' }, async ({ db, registry, executor, manager }) => {
      manager.startTask(run('small', { id: 1 }), async () => undefined);
      manager.startTask(run('huge', huge), async (ctx) => {
        executor.flushMirror();
        ctx.reportProgress({ percent: 50 });
      });
      await manager.waitAll();
      expect(registry.getRun('huge')?.status).toBe('completed');
      expect(checkParityWithFile(registry, db.dbPath).mismatches).toEqual([]);
      const stats = executor.shadowStats();
      // Once per run, however many of its states were written.
      expect(stats.faultsByCode).toEqual({ TASKBRIDGE_PAYLOAD_TOO_LARGE: 1 });
      expect(stats.lastError).toMatch(/run huge.*at most 1048576 bytes/);
      expect(stats.mirrored).toBeGreaterThanOrEqual(3);
    });
  });
});
