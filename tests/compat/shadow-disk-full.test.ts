import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ShadowRunExecutor } from '../../src/compat';
import { checkParityWithFile } from '../../src/compat';
import type { Run } from '../../src/manager';
import { tempDb, withModeManager, type TempDb } from './helpers';

const run = (runId: string): Run => ({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: { id: runId } });

/** A temp folder on its own 1 MiB tmpfs, or undefined where mounting is not allowed (not root). */
function tinyDisk(): TempDb | undefined {
  const db = tempDb();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', db.dir], { stdio: 'ignore' });
  } catch {
    db.remove();
    return undefined;
  }
  return {
    ...db,
    remove: () => {
      // Lazy: taskbridge keeps one descriptor per database file for the life of the process (file-handles.ts).
      execFileSync('umount', ['-l', db.dir]);
      db.remove();
    },
  };
}

const disk = tinyDisk();
(disk === undefined ? describe.skip : describe)('shadow mirror on a full disk', () => {
  it('a full disk never reaches the app; the faults say SQLITE_FULL, and the mirror catches up once space is freed', async () => {
    await withModeManager<ShadowRunExecutor>({ TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_MIRROR_FLUSH_DELAY: '10m' }, async ({ db, registry, executor, manager }) => {
      manager.startTask(run('before'), async () => undefined);
      await manager.waitAll();
      // Fill what is left of the disk.
      const filler = path.join(db.dir, 'filler');
      const fd = fs.openSync(filler, 'w');
      try {
        for (;;) fs.writeSync(fd, Buffer.alloc(4096));
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        fs.closeSync(fd);
      }
      for (let i = 0; i < 20; i++) manager.startTask(run(`full-${i}`), async (ctx) => ctx.reportProgress({ percent: 100 }));
      manager.startTask(run('cancelled'), async (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))));
      await manager.cancelTask('cancelled');
      await manager.waitAll();
      expect(registry.getRunsByStatus('completed')).toHaveLength(21);
      expect(registry.getRun('cancelled')?.status).toBe('cancelled');
      const during = executor.shadowStats();
      expect(during.faultsByCode.SQLITE_FULL).toBeGreaterThan(0);
      expect(during.pending).toBe(21);
      expect(checkParityWithFile(registry, db.dbPath).mismatches.filter((m) => m.kind === 'missing-in-sqlite')).toHaveLength(21);
      fs.rmSync(filler);
      executor.flushMirror();
      expect(executor.shadowStats()).toMatchObject({ pending: 0, dropped: 0 });
      const report = checkParityWithFile(registry, db.dbPath);
      expect(report.mismatches).toEqual([]);
      expect(report.checked).toBe(22);
    }, disk);
  });
});
