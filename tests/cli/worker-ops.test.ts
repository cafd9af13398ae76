import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { runCli, runJson, startCli, waitUntil, writeHandlers, useWorkspace } from './helpers';

const HANDLERS = `
module.exports = {
  ok: async (payload, ctx) => { await ctx.reportProgress({ percent: 100 }); return { echoed: payload }; },
  flaky: async (payload, ctx) => { if (ctx.attempt < 2) throw new Error('transient'); return 'second time lucky'; },
  boom: async () => { throw new Error('always fails'); },
};
`;

const silent = { error() {}, warn() {}, info() {}, debug() {} };

interface Stats {
  counts: { byStatus: Record<string, number>; byType: Record<string, Record<string, number>>; byQueue: Record<string, Record<string, number>>; total: number };
  throughput: { completedInWindow: number; completedPerMinute: number[]; windowMinutes: number };
  oldestQueuedAgeMs: number | null;
  processingTimeMs: { samples: number; p50: number | null; p95: number | null; p99: number | null };
  retryRate: number;
  deadInWindow: number;
  workers: { active: number; stale: number; list: { workerId: string; stale: boolean }[] };
}

describe('taskbridge worker, stats, health and maintenance commands', () => {
  const ws = useWorkspace();

  it('a worker runs the handlers of a relative --handlers path until SIGTERM, then stops gracefully; stats shows the outcome', async () => {
    writeHandlers(ws.dir, HANDLERS);
    for (let i = 0; i < 5; i++) await runCli(['--db', ws.db, 'enqueue', 'ok', '--payload', JSON.stringify({ i })]);
    await runCli(['--db', ws.db, 'enqueue', 'flaky']);
    await runCli(['--db', ws.db, 'enqueue', 'boom', '--max-attempts', '1']);

    const worker = startCli(['--db', ws.db, 'worker', '--handlers', 'handlers.js', '--concurrency', '2', '--strategy', 'fifo', '--capabilities', 'region=eu'], { cwd: ws.dir });
    await worker.waitForOutput(/worker (\S+) started: queue default, 2 at once, fifo, types ok, flaky, boom/);
    await waitUntil(async () => {
      const { json } = await runJson<Stats>(['--db', ws.db, 'stats']);
      return json.counts.byStatus.completed === 6 && json.counts.byStatus.failed === 1;
    }, 30_000, 'the worker to finish every task');

    const live = await runJson<Stats>(['--db', ws.db, 'stats']);
    expect(live.json.workers).toMatchObject({ active: 1, stale: 0 });
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.output()).toMatch(/SIGTERM received: stopping/);
    expect(worker.output()).toMatch(/stopped\n$/);

    const { code, json } = await runJson<Stats>(['--db', ws.db, 'stats']);
    expect(code).toBe(0);
    expect(json.counts.byStatus).toEqual({ queued: 0, running: 0, completed: 6, failed: 1, cancelled: 0 });
    expect(json.counts.byType.flaky).toMatchObject({ completed: 1 });
    expect(json.counts.byQueue.default).toMatchObject({ completed: 6, failed: 1 });
    expect(json.throughput.completedInWindow).toBe(6);
    expect(json.throughput.completedPerMinute).toHaveLength(60);
    expect(json.processingTimeMs.samples).toBe(6);
    expect(json.processingTimeMs.p50).not.toBeNull();
    expect(json.retryRate).toBeCloseTo(1 / 7);
    expect(json.deadInWindow).toBe(1);
    expect(json.oldestQueuedAgeMs).toBeNull();
    // A graceful stop unregisters the worker.
    expect(json.workers).toMatchObject({ active: 0, stale: 0 });

    const human = await runCli(['--db', ws.db, 'stats']);
    expect(human.stdout).toMatch(/^TASKS\s+QUEUED\s+RUNNING\s+COMPLETED\s+FAILED\s+CANCELLED\s+TOTAL$/m);
    expect(human.stdout).toMatch(/^all\s+0\s+0\s+6\s+1\s+0\s+7$/m);
    expect(human.stdout).toMatch(/^processing time:\s+p50 \S+\s+p95 \S+\s+p99 \S+\s+\(6 tasks\)$/m);
    expect(human.stdout).toMatch(/^retry rate:\s+14\.3% of 7 finished in the last hour$/m);

    const shown = await runJson<{ task: { result: unknown; progress: unknown } }>(['--db', ws.db, 'show', '1']);
    expect(shown.json.task).toMatchObject({ result: { echoed: { i: 0 } }, progress: { percent: 100 } });
  });

  it('a worker stops on SIGINT too', async () => {
    writeHandlers(ws.dir, HANDLERS);
    const worker = startCli(['--db', ws.db, 'worker', '--handlers', path.join(ws.dir, 'handlers.js')]);
    await worker.waitForOutput(/started/);
    expect(await worker.stop('SIGINT')).toBe(0);
  });

  it('a handlers file that exports no functions is refused before the database is opened', async () => {
    fs.writeFileSync(path.join(ws.dir, 'empty.js'), 'module.exports = { notAFunction: 1 };');
    const result = await runCli(['--db', ws.db, 'worker', '--handlers', 'empty.js'], { cwd: ws.dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not a function/);
    expect(fs.existsSync(ws.db)).toBe(false);
  });

  it.each([
    ['an empty --queue', ['--queue', '']],
    ['an unknown --strategy', ['--strategy', 'newest']],
    ['a maintenance interval under 1s', ['--checkpoint-every', '500ms']],
  ])('a worker with %s is a usage error that creates no database', async (_what, args) => {
    writeHandlers(ws.dir, HANDLERS);
    const result = await runCli(['--db', ws.db, 'worker', '--handlers', 'handlers.js', ...args], { cwd: ws.dir });
    expect(result.code).toBe(2);
    expect(fs.existsSync(ws.db)).toBe(false);
  });

  it('health is ok on a good database, exits 1 over a threshold, and says why', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'x']);
    const ok = await runCli(['--db', ws.db, 'health']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK\s+integrity\s+quick_check ok$/m);
    expect(ok.stdout.trim().split('\n').pop()).toBe('healthy');
    const json = await runJson<{ healthy: boolean; databaseBytes: number; walBytes: number; deadLastHour: number }>(['--db', ws.db, 'health']);
    expect(json.json).toMatchObject({ healthy: true, deadLastHour: 0 });
    expect(json.json.databaseBytes).toBeGreaterThan(0);

    // An open connection with uncheckpointed writes keeps the WAL non-empty while health runs.
    const writer = new Database(ws.db);
    try {
      writer.pragma('wal_autocheckpoint = 0');
      writer.prepare('UPDATE tasks SET priority = priority + 1').run();
      const tinyWal = await runCli(['--db', ws.db, 'health', '--max-wal-mb', '0']);
      expect(tinyWal.code).toBe(1);
      expect(tinyWal.stdout).toMatch(/^FAIL\s+wal\s+/m);
      expect(tinyWal.stderr).toMatch(/^unhealthy: .*checkpoints are not keeping up/m);
    } finally {
      writer.close();
    }
  });

  it('health exits 1 on a corrupted copy and on a missing file', async () => {
    const store = createSqliteTaskStore({ path: ws.db, logger: silent });
    await store.enqueueBatch(Array.from({ length: 50 }, (_, i) => ({ type: 'x', payload: { pad: 'y'.repeat(500), i } })));
    await store.close();
    const corrupt = path.join(ws.dir, 'corrupt.db');
    const bytes = fs.readFileSync(ws.db);
    const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
    // Keep the header page so SQLite opens the file; garble every page behind it.
    for (let i = pageSize; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    fs.writeFileSync(corrupt, bytes);

    const bad = await runCli(['--db', corrupt, 'health']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL\s+(integrity|database)\s+/m);
    expect(bad.stderr).toMatch(/^unhealthy: /m);
    const badJson = await runJson<{ healthy: boolean; reasons: string[] }>(['--db', corrupt, 'health']);
    expect(badJson.code).toBe(1);
    expect(badJson.json.healthy).toBe(false);
    expect(badJson.json.reasons.length).toBeGreaterThan(0);

    const missing = await runJson<{ healthy: boolean; reasons: string[] }>(['--db', path.join(ws.dir, 'nope.db'), 'health']);
    expect(missing.code).toBe(1);
    expect(missing.json.reasons[0]).toMatch(/does not exist/);
  });

  it('cleanup deletes only finished tasks older than the ages; checkpoint and vacuum report what they did', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'keep']);
    await runCli(['--db', ws.db, 'enqueue', 'drop']);
    await runCli(['--db', ws.db, 'cancel', '2']);
    const young = await runJson<{ deleted: { total: number } }>(['--db', ws.db, 'cleanup', '--completed-older-than', '7d', '--failed-older-than', '30d', '--cancelled-older-than', '1h']);
    expect(young).toMatchObject({ code: 0, json: { deleted: { total: 0 } } });
    const old = await runCli(['--db', ws.db, 'cleanup', '--cancelled-older-than', '0s']);
    expect(old.code).toBe(0);
    expect(old.stdout.trim()).toBe('deleted 1 task(s): 0 completed, 0 failed, 1 cancelled');
    const left = await runJson<{ tasks: { id: number }[] }>(['--db', ws.db, 'list']);
    expect(left.json.tasks.map((t) => t.id)).toEqual([1]);

    const cp = await runJson<{ busy: boolean; walBytesAfter: number; mode: string }>(['--db', ws.db, 'checkpoint']);
    expect(cp).toMatchObject({ code: 0, json: { busy: false, walBytesAfter: 0, mode: 'TRUNCATE' } });
    const vac = await runCli(['--db', ws.db, 'vacuum']);
    expect(vac.code).toBe(0);
    expect(vac.stdout).toMatch(/^vacuum done in \S+: .* -> /);
  });

  it('checkpoint kept busy by a reader exits 1, with --json as in text', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'a']);
    // A reader whose snapshot predates the last write keeps TRUNCATE from finishing (after the
    // CLI's 5 s busy wait).
    const reader = new Database(ws.db);
    try {
      reader.prepare('BEGIN').run();
      reader.prepare('SELECT count(*) FROM tasks').get();
      await runCli(['--db', ws.db, 'enqueue', 'b']);
      const json = await runJson<{ busy: boolean }>(['--db', ws.db, 'checkpoint']);
      expect(json).toMatchObject({ code: 1, json: { busy: true } });
      const text = await runCli(['--db', ws.db, 'checkpoint']);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^checkpoint incomplete: another connection was busy/);
    } finally {
      reader.close();
    }
    const done = await runJson<{ busy: boolean; walBytesAfter: number }>(['--db', ws.db, 'checkpoint']);
    expect(done).toMatchObject({ code: 0, json: { busy: false, walBytesAfter: 0 } });
  }, 60_000);
});
