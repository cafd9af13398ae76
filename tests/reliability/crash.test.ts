import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { FIXTURES, SILENT, acceptedIds, exited, lines, nextMessage, report, sha256, waitFor, useSandbox } from './harness';
import { checkInvariant } from './invariant';

// Crashes are SIGKILLs of real processes running the built package. "During" a step is hit
// deterministically by test-only hooks in the fixtures that SIGKILL the process itself between two
// steps (after a claim returned, inside a handler, right before complete, between two INSERTs of a
// batch, between two pages of a backup); a crash inside one statement is covered by SQLite's atomic
// commit, which integrity_check and the all-or-nothing checks below confirm.

describe('crash at every step', () => {
  const box = useSandbox();

  function batchesInDb(dbPath: string): Map<string, { size: number; rows: number }> {
    const db = new Database(dbPath, { readonly: true });
    try {
      const rows = db.prepare('SELECT payload FROM tasks').pluck().all() as string[];
      const batches = new Map<string, { size: number; rows: number }>();
      for (const text of rows) {
        const p = JSON.parse(text) as { producer: string; batch: number; size: number };
        const key = `${p.producer}/${p.batch}`;
        const b = batches.get(key) ?? { size: p.size, rows: 0 };
        b.rows++;
        batches.set(key, b);
      }
      return batches;
    } finally {
      db.close();
    }
  }

  it('a producer killed between two INSERTs of a batch leaves none of that batch, and every earlier batch whole', async () => {
    const dbPath = join(box.dir, 'queue.db');
    const acceptedFile = join(box.dir, 'accepted.txt');
    const child = box.children.fork(join(FIXTURES, 'producer.js'), [], {
      TB_DB: dbPath, TB_ACCEPTED: acceptedFile, TB_PRODUCER: 'p', TB_BATCH: '10', TB_BATCHES: '20', TB_KILL_INSIDE_BATCH: '3:5',
    });
    expect(await exited(child)).toEqual({ code: null, signal: 'SIGKILL' });
    const batches = batchesInDb(dbPath);
    expect([...batches.keys()].sort()).toEqual(['p/0', 'p/1', 'p/2']);
    for (const b of batches.values()) expect(b.rows).toBe(b.size);
    const inv = checkInvariant({ dbPath, accepted: acceptedIds(acceptedFile), runFiles: [] });
    expect(inv.problems).toEqual([]);
    expect(inv.tasks).toBe(30);
    report('crash: inside enqueueBatch', { tasks: inv.tasks, faults: 1, lost: inv.lost });
  });

  it('producers SIGKILLed at arbitrary moments leave only whole batches, and every accepted task is stored', async () => {
    const dbPath = join(box.dir, 'queue.db');
    createSqliteTaskStore({ path: dbPath, logger: SILENT }).closeSync();
    const acceptedFiles: string[] = [];
    let kills = 0;
    for (let round = 0; round < 6; round++) {
      const acceptedFile = join(box.dir, `accepted-${round}.txt`);
      acceptedFiles.push(acceptedFile);
      const child = box.children.fork(join(FIXTURES, 'producer.js'), [], {
        TB_DB: dbPath, TB_ACCEPTED: acceptedFile, TB_PRODUCER: `r${round}`, TB_BATCH: String(20 + round * 17),
      });
      await nextMessage(child, (m) => m === 'ready');
      // Kill after a varying number of committed batches: the kill lands wherever the producer is.
      const target = 3 + round * 5;
      await waitFor(() => lines(acceptedFile).length >= target, 20_000, `${target} batches`);
      child.kill('SIGKILL');
      await exited(child);
      kills++;
    }
    const batches = batchesInDb(dbPath);
    for (const [key, b] of batches) expect({ key, rows: b.rows }).toEqual({ key, rows: b.size });
    // A batch committed just before the kill may not have been reported: allowed, but only whole.
    const inv = checkInvariant({ dbPath, accepted: acceptedFiles.flatMap(acceptedIds), runFiles: [], allowUnreported: true });
    expect(inv.problems).toEqual([]);
    report('crash: producers killed at random', { tasks: inv.tasks, faults: kills, batches: batches.size, lost: inv.lost });
  });

  it.each([
    ['after-claim', 'right after a claim returned (before the handlers ran)'],
    ['in-handler', 'inside a handler'],
    ['before-complete', 'after the handler finished, right before complete()'],
  ])('a worker killed %s: after a restart every task completes, none lost, none run twice without a retry', async (kill) => {
    const dbPath = join(box.dir, 'queue.db');
    box.store = createSqliteTaskStore({ path: dbPath, logger: SILENT });
    const ids = (await box.store.enqueueBatch(Array.from({ length: 40 }, (_, i) => ({ type: 'work', payload: { i } })))).map((r) => r.task.id);
    const runFiles = [join(box.dir, 'runs-a.txt'), join(box.dir, 'runs-b.txt')];
    const victim = box.children.fork(join(FIXTURES, 'worker.js'), [], {
      TB_DB: dbPath, TB_RUNS: runFiles[0]!, TB_WORKER_ID: 'victim', TB_LEASE: '400ms', TB_KILL: kill, TB_KILL_AT: '3',
    });
    const timer = setTimeout(() => victim.kill('SIGTERM'), 15_000);
    const victimExit = await exited(victim);
    clearTimeout(timer);
    expect(victimExit).toEqual({ code: null, signal: 'SIGKILL' });
    const orphaned = (await box.store.list({ status: 'running', limit: 100 })).length;
    expect(orphaned).toBeGreaterThan(0);

    const rescuer = box.children.fork(join(FIXTURES, 'worker.js'), [], { TB_DB: dbPath, TB_RUNS: runFiles[1]!, TB_WORKER_ID: 'rescuer' });
    await nextMessage(rescuer, (m) => m === 'ready');
    const s = box.store;
    await waitFor(async () => (await s.counts()).byStatus.completed === 40, 20_000, 'all 40 completed');
    rescuer.send('stop');
    await nextMessage(rescuer, (m) => typeof m === 'object');

    const inv = checkInvariant({ dbPath, accepted: ids, runFiles });
    expect(inv.problems).toEqual([]);
    expect(inv.byStatus).toEqual({ completed: 40 });
    if (kill === 'before-complete') {
      // The handlers whose outcome was not yet written ran again, each visibly as attempt 2.
      expect(inv.doubleRuns).toBeGreaterThanOrEqual(1);
      expect(inv.doubleRuns).toBeLessThanOrEqual(orphaned);
    } else {
      expect(inv.doubleRuns).toBe(0);
    }
    report(`crash: worker killed ${kill}`, { tasks: 40, faults: 1, orphanedLeases: orphaned, doubleRuns: inv.doubleRuns, lost: inv.lost });
  });

  it('a backup killed mid-copy leaves the database, the previous backup and running workers untouched', async () => {
    const dbPath = join(box.dir, 'queue.db');
    const backupPath = join(box.dir, 'backups', 'queue.bak');
    box.store = createSqliteTaskStore({ path: dbPath, logger: SILENT });
    const pad = 'x'.repeat(2000);
    const ids: number[] = [];
    for (let b = 0; b < 4; b++) {
      ids.push(...(await box.store.enqueueBatch(Array.from({ length: 100 }, (_, i) => ({ type: 'work', payload: { b, i, pad } })))).map((r) => r.task.id));
    }
    const good = box.children.fork(join(FIXTURES, 'backup.js'), [], { TB_DB: dbPath, TB_BACKUP: backupPath });
    expect(await nextMessage(good)).toMatchObject({ ok: true });
    const goodHash = sha256(backupPath);

    const runFile = join(box.dir, 'runs.txt');
    const worker = box.children.fork(join(FIXTURES, 'worker.js'), [], { TB_DB: dbPath, TB_RUNS: runFile, TB_WORKER_ID: 'w', TB_WORK_MS: '2' });
    await nextMessage(worker, (m) => m === 'ready');
    const crashing = box.children.fork(join(FIXTURES, 'backup.js'), [], { TB_DB: dbPath, TB_BACKUP: backupPath, TB_KILL_AT_PAGE: '60' });
    expect(await exited(crashing)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(sha256(backupPath)).toBe(goodHash);
    const leftovers = readdirSync(join(box.dir, 'backups')).filter((f) => f !== 'queue.bak');

    const s = box.store;
    await waitFor(async () => (await s.counts()).byStatus.completed === 400, 30_000, 'all 400 completed');
    worker.send('stop');
    await nextMessage(worker, (m) => typeof m === 'object');
    const inv = checkInvariant({ dbPath, accepted: ids, runFiles: [runFile] });
    expect(inv.problems).toEqual([]);
    expect(inv.doubleRuns).toBe(0);
    // The previous backup still verifies and is a full copy of the queue as it was.
    const bak = new Database(backupPath, { readonly: true });
    expect(bak.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(bak.prepare('SELECT count(*) FROM tasks').pluck().get()).toBe(400);
    bak.close();
    report('crash: backup killed mid-copy', { tasks: 400, faults: 1, partialFilesLeft: leftovers.length, lost: inv.lost });
    expect(existsSync(dbPath)).toBe(true);
  });
});
