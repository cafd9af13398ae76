import type { ShadowRunExecutor } from '../../src/compat';
import { checkParity, checkParityWithFile } from '../../src/compat';
import { SystemClock } from '../../src/core/clock';
import type { Run } from '../../src/manager';
import { openMirrorStore } from '../../src/queue/sqlite/mirror-store';
import { withModeManager } from './helpers';

const run = (runId: string): Run => ({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: {} });

// The flush timer never fires during a test: whatever the mirror holds was written by an explicit flush.
const shadow = { TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_MIRROR_FLUSH_DELAY: '10m' };

describe('parity with runs in flight', () => {
  it('a run that finished moments ago, its state not yet flushed, is not reported as a mismatch', async () => {
    await withModeManager<ShadowRunExecutor>(shadow, async ({ db, registry, executor, manager }) => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let finished!: () => void;
      const done = new Promise<void>((r) => (finished = r));
      manager.startTask(run('slow'), async () => gate);
      manager.startTask(run('flushed-running'), async () => {
        executor.flushMirror();
        await Promise.resolve();
      });
      manager.startTask(run('quick'), async () => finished());
      await done;
      await new Promise((r) => setImmediate(r));
      expect(registry.getRun('quick')?.status).toBe('completed');
      expect(registry.getRun('flushed-running')?.status).toBe('completed');
      expect(executor.shadowStats().pending).toBeGreaterThan(0);
      // The health-endpoint way (its own connection) and the in-app way (a store the app holds).
      const viaFile = checkParityWithFile(registry, db.dbPath);
      expect(viaFile.mismatches).toEqual([]);
      expect(viaFile).toMatchObject({ checked: 2, matched: 2, skippedActive: 1 });
      const store = openMirrorStore(db.dbPath, new SystemClock());
      try {
        expect(checkParity(registry, store).mismatches).toEqual([]);
      } finally {
        store.close();
      }
      release();
      await manager.waitAll();
    });
  });

  it('a finished run whose state the mirror could not write is still reported, by run id', async () => {
    await withModeManager<ShadowRunExecutor>(shadow, async ({ db, registry, executor, manager }) => {
      // The mirror's own connection refuses writes from here on (a stand-in for a read-only file).
      (executor as unknown as { mirror: { store: { db: { pragma(s: string): unknown } } } }).mirror.store.db.pragma('query_only = 1');
      manager.startTask(run('lost'), async () => undefined);
      await manager.waitAll();
      expect(registry.getRun('lost')?.status).toBe('completed');
      expect(executor.shadowStats().faultsByCode.SQLITE_READONLY).toBeGreaterThan(0);
      expect(checkParityWithFile(registry, db.dbPath).mismatches).toEqual([{ runId: 'lost', kind: 'missing-in-sqlite', registry: 'completed' }]);
    });
  });
});
