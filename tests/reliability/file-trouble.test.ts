import { chmodSync, copyFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { Children, FIXTURES, SILENT, exited, lines, report, runCli, sha256, tempDir, waitFor } from './harness';

const HANDLERS = join(FIXTURES, 'handlers.js');

describe('file trouble', () => {
  let dir: string;
  let cleanup: () => void;
  let dbPath: string;
  const children = new Children();

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    dbPath = join(dir, 'queue.db');
    const store = createSqliteTaskStore({ path: dbPath, logger: SILENT });
    store.enqueueBatchSync(Array.from({ length: 200 }, (_, i) => ({ type: 'work', payload: { i, pad: 'p'.repeat(500) } })));
    store.closeSync();
  });
  afterEach(() => {
    children.killAll();
    try {
      chmodSync(dbPath, 0o600);
    } catch {
      // the file may be gone
    }
    cleanup();
  });

  const startWorker = (env: Record<string, string> = {}) =>
    children.cli(['--db', dbPath, 'worker', '--handlers', HANDLERS], { TB_RUNS: join(dir, 'runs.txt'), TASKBRIDGE_LOG_LEVEL: 'info', ...env });

  it.each([
    ['garbage', (): void => writeFileSync(dbPath, randomBytes(64 * 1024))],
    ['a text file', (): void => writeFileSync(dbPath, 'id,type\n1,work\n')],
    ['a truncated database (first half)', (): void => {
      copyFileSync(dbPath, `${dbPath}.full`);
      truncateSync(dbPath, 1000);
    }],
  ])('a worker started on %s exits once with a clear error and leaves the file byte-identical', (_name, damage) => {
    damage();
    const before = sha256(dbPath);
    const r = runCli(['--db', dbPath, 'worker', '--handlers', HANDLERS], { TB_RUNS: join(dir, 'runs.txt') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is not a taskbridge SQLite database \(the file was not modified\)/);
    expect(r.stderr.split('\n').filter(Boolean).length).toBeLessThanOrEqual(2);
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(sha256(dbPath)).toBe(before);
    for (const command of [['list'], ['stats'], ['enqueue', 'work'], ['show', '1']]) {
      const c = runCli(['--db', dbPath, ...command]);
      expect({ command, status: c.status }).toEqual({ command, status: 1 });
      expect(sha256(dbPath)).toBe(before);
    }
  });

  // Root ignores file modes, so a read-only file is only read-only to other users.
  const asRoot = process.getuid?.() === 0;
  (asRoot ? it.skip : it)('a worker started on a read-only database exits once with a clear error and writes nothing', () => {
    chmodSync(dbPath, 0o400);
    const before = sha256(dbPath);
    const r = runCli(['--db', dbPath, 'worker', '--handlers', HANDLERS], { TB_RUNS: join(dir, 'runs.txt') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot be opened for writing: .*not writable \(EACCES\)/);
    expect(sha256(dbPath)).toBe(before);
    expect(statSync(dbPath).mode & 0o777).toBe(0o400);
  });

  it('a database replaced by another file (rename) while a worker runs: the worker exits 1 once with a clear error, the new file untouched', async () => {
    const worker = startWorker();
    await waitFor(() => worker.out.join('').includes('started'), 10_000, 'the worker to start');
    const garbage = join(dir, 'incoming.bin');
    writeFileSync(garbage, randomBytes(64 * 1024));
    const hash = sha256(garbage);
    renameSync(garbage, dbPath);
    // The idle worker polls at most every 2 s and heartbeats meanwhile; either call notices.
    const { code } = await Promise.race([exited(worker), waitFor(() => false, 15_000, 'the worker to exit').then(() => ({ code: -1 }))]);
    expect(code).toBe(1);
    const stderr = worker.err.join('');
    expect(stderr).toMatch(/taskbridge: error: Database .*queue\.db was replaced by another file while taskbridge had it open; the store stopped using it \(the file was not modified\)/);
    expect(stderr).not.toMatch(/\n\s+at /);
    const stderrLines = stderr.split('\n').filter(Boolean);
    expect(stderrLines.length).toBeLessThan(5);
    expect(sha256(dbPath)).toBe(hash);
    const again = runCli(['--db', dbPath, 'worker', '--handlers', HANDLERS], { TB_RUNS: join(dir, 'runs.txt') });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/not a taskbridge SQLite database/);
    expect(sha256(dbPath)).toBe(hash);
    report('file trouble: replaced while running', { faults: 1, workerStderrLines: stderrLines.length, fileUntouched: true });
  });

  // A file changed IN PLACE (same inode: `cp x queue.db`, truncate, or chmod 0400 on the open
  // file) used to go unnoticed, and the checkpoint on close wrote database pages over the user's
  // content. Stopping the worker right after the change exercises exactly that close.
  const inPlace: [string, () => void, RegExp][] = [
    // r+ overwrites without truncating first, so a check cannot land between the two and see an empty file.
    ['overwritten with garbage', (): void => writeFileSync(dbPath, randomBytes(64 * 1024), { flag: 'r+' }), /was overwritten with content that is not an SQLite database/],
    ['truncated to 0 bytes', (): void => truncateSync(dbPath, 0), /was truncated to 0 bytes/],
    ['made read-only', (): void => chmodSync(dbPath, 0o400), /was made read-only \(mode 0400\)/],
  ];
  it.each(inPlace)('a database %s in place while a worker runs is never written by that worker', async (_name, damage) => {
    const worker = startWorker();
    // Wait until the worker has committed work, so its WAL holds frames a checkpoint would copy.
    await waitFor(() => lines(join(dir, 'runs.txt')).length >= 40, 10_000, 'the worker to complete some tasks');
    damage();
    const hash = sha256(dbPath);
    worker.kill('SIGTERM');
    await exited(worker);
    expect(sha256(dbPath)).toBe(hash);
  });

  it.each(inPlace)('a database %s in place under a running worker makes it exit 1 once with a clear error, without writing the file', async (_name, damage, change) => {
    const worker = startWorker();
    await waitFor(() => lines(join(dir, 'runs.txt')).length >= 40, 10_000, 'the worker to complete some tasks');
    const logged = worker.err.join('').length;
    damage();
    const hash = sha256(dbPath);
    const { code } = await Promise.race([exited(worker), waitFor(() => false, 15_000, 'the worker to exit').then(() => ({ code: -1 }))]);
    expect(code).toBe(1);
    const stderr = worker.err.join('');
    expect(stderr).toMatch(change);
    expect(stderr).toMatch(/taskbridge: error: .*the store stopped using it \(the file was not modified\)/);
    expect(stderr).not.toMatch(/\n\s+at /);
    // From the change on: one line from the store, one from the worker, the CLI's message; no per-task or per-poll lines.
    const linesAfter = stderr.slice(logged).split('\n').filter(Boolean);
    expect(linesAfter.length).toBeLessThanOrEqual(3);
    expect(sha256(dbPath)).toBe(hash);
    report('file trouble: changed in place while running', { change: String(change), stderrLines: linesAfter.length, fileUntouched: true });
  });
});
