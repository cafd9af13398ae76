import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SystemClock } from '../../src/core/clock';
import type { ShadowRunExecutor } from '../../src/compat';
import type { BackgroundTaskManager, Run } from '../../src/manager';
import { openMirrorStore } from '../../src/queue/sqlite/mirror-store';
import { withModeManager, type TempDb } from './helpers';

const run = (runId: string): Run => ({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: { id: runId } });
const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A valid taskbridge database with nothing of ours in it: what an operator restores or copies in. */
function otherDatabase(db: TempDb): string {
  const file = path.join(db.dir, 'other.db');
  const store = openMirrorStore(file, new SystemClock());
  store.db.pragma('journal_mode = DELETE');
  store.close();
  return file;
}

/** Starts and settles runs `ids`, flushing the mirror (waitAll does). */
async function runAll(manager: BackgroundTaskManager, ids: string[]): Promise<void> {
  for (const id of ids) manager.startTask(run(id), async (ctx) => ctx.reportProgress({ percent: 100 }));
  await manager.waitAll();
}

const shadow = { TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_MIRROR_FLUSH_DELAY: '10m' };

describe('shadow mirror: the file changed under the running process', () => {
  it('a mirror file deleted mid-run is a counted fault, not silent writes into the unlinked file', async () => {
    await withModeManager<ShadowRunExecutor>(shadow, async ({ db, registry, executor, manager }) => {
      await runAll(manager, ['before']);
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(db.dbPath + suffix, { force: true });
      await runAll(manager, ['after-1', 'after-2']);
      expect(registry.getRecentRuns().map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
      const stats = executor.shadowStats();
      expect(stats.faultsByCode.TASKBRIDGE_DATABASE_REPLACED).toBeGreaterThanOrEqual(1);
      expect(stats.lastError).toMatch(/was deleted/);
      // The two runs after the deletion were not written anywhere: they are not counted as mirrored.
      expect(stats.mirrored).toBe(1);
    });
  });

  it('a mirror file renamed over (a restore) mid-run: the fault is counted and the new file is left untouched', async () => {
    await withModeManager<ShadowRunExecutor>(shadow, async ({ db, executor, manager }) => {
      await runAll(manager, ['before']);
      const incoming = otherDatabase(db);
      const hash = sha256(incoming);
      fs.renameSync(incoming, db.dbPath);
      await runAll(manager, ['after']);
      expect(executor.shadowStats().faultsByCode.TASKBRIDGE_DATABASE_REPLACED).toBeGreaterThanOrEqual(1);
      await executor.close();
      expect(sha256(db.dbPath)).toBe(hash);
    });
  });

  // Same inode, new content. (A valid database copied in place cannot be told from another
  // process's writes; SQLite's own guidance is not to do that to an open database.)
  const inPlace: [string, (file: string) => void][] = [
    ['overwritten with garbage', (file) => fs.writeFileSync(file, randomBytes(64 * 1024), { flag: 'r+' })],
    ['truncated to 100 bytes', (file) => fs.truncateSync(file, 100)],
  ];
  it.each(inPlace)('a mirror file %s in place mid-run: the fault is counted and the mirror never writes over the new content', async (_name, damage) => {
    await withModeManager<ShadowRunExecutor>(shadow, async ({ db, registry, executor, manager }) => {
      await runAll(manager, ['before']);
      damage(db.dbPath);
      const hash = sha256(db.dbPath);
      await runAll(manager, ['after']);
      expect(registry.getRun('after')?.status).toBe('completed');
      expect(executor.shadowStats().faultsByCode.TASKBRIDGE_DATABASE_REPLACED).toBeGreaterThanOrEqual(1);
      await executor.close();
      expect(sha256(db.dbPath)).toBe(hash);
    });
  });
});
