import { checkParity, SHADOW_QUEUE } from '../../src/compat';
import type { Run } from '../../src/manager';
import { SystemClock } from '../../src/core/clock';
import { openMirrorStore } from '../../src/queue/sqlite/mirror-store';
import { tempDb, until, withModeManager } from './helpers';
import { dbSays, spawnApp } from './process-helpers';

/** TASKBRIDGE_LEASE of the shadow process and of the sqlite-mode manager that follows it. */
const LEASE_MS = 1_000;

// Ids the queue cannot use as keys as they are (past 1,000 characters; a lone surrogate, which
// SQLite would read back as U+FFFD). sqlite mode stores them as digests and its payloads name them.
const LONG = `job:${'x'.repeat(1500)}`;
const SURROGATE = 'run-\ud800-1';

describe('shadow -> sqlite with runs of odd ids in flight', () => {
  it('runs whose ids the queue cannot key as they are, interrupted in shadow mode, are run by sqlite mode under their own ids, once', async () => {
    const db = tempDb();
    const marker = `${db.dir}/markers`;
    const base = { TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LEASE: `${LEASE_MS}ms`, TASKBRIDGE_POLL_INTERVAL: '20ms', TASKBRIDGE_MIRROR_FLUSH_DELAY: '5ms' };
    try {
      const shadow = spawnApp({ ...base, TASKBRIDGE_MODE: 'shadow' }, { start: [LONG, SURROGATE], hang: true, marker });
      // stdout is UTF-8: the lone surrogate prints as U+FFFD.
      await until(() => shadow.out().includes(`RUNNING ${LONG}`) && shadow.out().includes('RUNNING run-\ufffd-1'), 'both shadow runs to start');
      const running = "SELECT COUNT(*) = 2 AS ok FROM tasks WHERE queue = @queue AND status = 'running'";
      await until(() => dbSays(db.dbPath, running, { queue: SHADOW_QUEUE }), 'the mirror to show both runs running');
      shadow.child.kill('SIGKILL');
      await shadow.exited;
      const expired = "SELECT NOT EXISTS (SELECT 1 FROM tasks WHERE status IN ('queued', 'running') AND lease_expires_at > @now) AS ok";
      await until(() => dbSays(db.dbPath, expired), 'the mirror leases to expire');

      await withModeManager({ ...base, TASKBRIDGE_MODE: 'sqlite' }, async ({ registry, manager }) => {
        const handled: Run[] = [];
        manager.registerHandler('job', async (r) => {
          handled.push({ ...r });
        });
        await until(() => [LONG, SURROGATE].every((id) => registry.getRun(id)?.status === 'completed'), 'sqlite mode to run both interrupted runs');
        await manager.waitAll();
        expect(handled.map((r) => [r.runId, r.moduleId, r.parameters]).sort()).toEqual([
          [LONG, 'job', { runId: LONG }],
          // JSON keeps the lone surrogate of a parameter value as an escape, so it round-trips.
          [SURROGATE, 'job', { runId: SURROGATE }],
        ].sort());
        expect(registry.getRecentRuns(10).map((r) => r.runId).sort()).toEqual([LONG, SURROGATE].sort());
        const nothingOpen = "SELECT NOT EXISTS (SELECT 1 FROM tasks WHERE status IN ('queued', 'running')) AS ok";
        await until(() => dbSays(db.dbPath, nothingOpen), 'both runs to be written completed');
      }, db);
    } finally {
      db.remove();
    }
  }, 60_000);

  it.each([
    ['shadow', { TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_MIRROR_FLUSH_DELAY: '5ms' }],
    ['sqlite', { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_POLL_INTERVAL: '20ms' }],
  ])('parity of %s-mode runs with such ids reports no mismatch once they finished', async (_mode, env) => {
    await withModeManager(env, async ({ db, registry, manager }) => {
      const moduleId = `module:${'m'.repeat(250)}`;
      for (const runId of [LONG, SURROGATE]) {
        manager.startTask({ runId, moduleId, moduleName: 'Odd', status: 'queued', createdAt: new Date(), parameters: {} }, async () => undefined);
      }
      await manager.waitAll();
      const store = openMirrorStore(db.dbPath, new SystemClock());
      try {
        const report = checkParity(registry, store);
        expect(report.mismatches).toEqual([]);
        expect(report.matched).toBe(2);
      } finally {
        store.close();
      }
    });
  });
});
