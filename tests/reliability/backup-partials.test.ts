import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeAbandonedPartials } from '../../src/queue/maintenance/partial-files';
import { rotatingBackup } from '../../src/queue/maintenance/rotation';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { ManualClock } from '../../src/core/clock';
import { FIXTURES, SILENT, exited, report, useSandbox } from './harness';

describe('partial files of killed backups', () => {
  const box = useSandbox();

  it('the next backup into the folder removes the partial files a SIGKILLed backup left', async () => {
    const dbPath = join(box.dir, 'queue.db');
    const backups = join(box.dir, 'backups');
    const store = createSqliteTaskStore({ path: dbPath, logger: SILENT });
    store.enqueueBatchSync(Array.from({ length: 300 }, (_, i) => ({ type: 'work', payload: { i, pad: 'x'.repeat(2000) } })));
    const crashing = box.children.fork(join(FIXTURES, 'backup.js'), [], { TB_DB: dbPath, TB_BACKUP: join(backups, 'taskbridge-20260101T000000000Z.db'), TB_KILL_AT_PAGE: '40' });
    expect(await exited(crashing)).toEqual({ code: null, signal: 'SIGKILL' });
    const left = readdirSync(backups);
    expect(left.some((name) => name.includes(`.partial-${crashing.pid}`))).toBe(true);

    const { backup } = await rotatingBackup(dbPath, { directory: backups, keep: 3, clock: new ManualClock(Date.UTC(2026, 0, 2)) });
    store.closeSync();
    expect(readdirSync(backups)).toEqual(['taskbridge-20260102T000000000Z.db']);
    expect(backup.tables.tasks).toBe(300);
    report('backup partial files cleaned', { leftByKilledBackup: left.length, leftAfterNextBackup: 0 });
  });

  it('keeps the partial files of processes that still run, this one included', () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const names = [
      `a.db.partial-${dead}`, `a.db.partial-${dead}-wal`, `a.db.partial-${dead}-journal`,
      `b.db.partial-${process.pid}`, `c.db.partial-${process.ppid}`, 'notes.partial-x', 'd.db',
    ];
    for (const name of names) writeFileSync(join(box.dir, name), 'x');
    expect(removeAbandonedPartials(box.dir).map((f) => f.slice(box.dir.length + 1)).sort()).toEqual(names.slice(0, 3).sort());
    expect(readdirSync(box.dir).sort()).toEqual(names.slice(3).sort());
  });
});
