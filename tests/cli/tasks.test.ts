import fs from 'node:fs';
import path from 'node:path';
import { runCli, runJson, useWorkspace } from './helpers';

interface TaskJson {
  id: number;
  type: string;
  queue: string;
  status: string;
  priority: number;
  payload: unknown;
  attempts: number;
  runAfter: string;
  createdAt: string;
  idempotencyKey: string | null;
}

describe('taskbridge task commands', () => {
  const ws = useWorkspace();

  it('enqueue creates the database, prints the task, and a repeated key returns the same task', async () => {
    const first = await runCli(['--db', ws.db, 'enqueue', 'email', '--payload', '{"to":"a@example.com"}', '--priority', '5']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^enqueued task 1 \(type email, queue default, priority 5/);

    const keyed = await runJson<{ created: boolean; task: TaskJson }>(['--db', ws.db, 'enqueue', 'email', '--key', 'k1', '--queue', 'mail']);
    expect(keyed.code).toBe(0);
    expect(keyed.json.created).toBe(true);
    expect(keyed.json.task).toMatchObject({ id: 2, queue: 'mail', idempotencyKey: 'k1', status: 'queued' });

    const again = await runJson<{ created: boolean; task: TaskJson }>(['--db', ws.db, 'enqueue', 'email', '--key', 'k1', '--queue', 'mail']);
    expect(again.json).toMatchObject({ created: false, task: { id: 2 } });
  });

  it('enqueue --delay puts run-after in the future', async () => {
    const before = Date.now();
    const { json } = await runJson<{ task: TaskJson }>(['--db', ws.db, 'enqueue', 'later', '--delay', '5m']);
    expect(Date.parse(json.task.runAfter) - before).toBeGreaterThanOrEqual(5 * 60_000 - 1000);
  });

  it('list filters by status, type and limit, as a table or JSON', async () => {
    for (const type of ['a', 'b', 'a']) await runCli(['--db', ws.db, 'enqueue', type]);
    await runCli(['--db', ws.db, 'cancel', '1']);

    const table = await runCli(['--db', ws.db, 'list']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+QUEUE\s+TYPE\s+STATUS\s+ATTEMPTS/);
    expect(lines).toHaveLength(2 + 3);

    const queuedA = await runJson<{ tasks: TaskJson[] }>(['--db', ws.db, 'list', '--status', 'queued', '--type', 'a']);
    expect(queuedA.json.tasks.map((t) => t.id)).toEqual([3]);
    const limited = await runJson<{ tasks: TaskJson[] }>(['--db', ws.db, 'list', '--limit', '2']);
    expect(limited.json.tasks.map((t) => t.id)).toEqual([3, 2]);
    const none = await runCli(['--db', ws.db, 'list', '--type', 'zzz']);
    expect(none.stdout.trim()).toBe('no tasks match');
  });

  it('list --limit above 10000 is bad usage (exit 2, naming the range), not silently cut to 10000', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'a']);
    const result = await runCli(['--db', ws.db, 'list', '--limit', '10001']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/--limit.*10001.*1 to 10000/);
    expect((await runJson<{ tasks: TaskJson[] }>(['--db', ws.db, 'list', '--limit', '10000'])).code).toBe(0);
  });

  it('show prints every field; an unknown id exits 1', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'email', '--payload', '{"n":1}']);
    const shown = await runCli(['--db', ws.db, 'show', '1']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^id:\s+1$/m);
    expect(shown.stdout).toMatch(/^payload:\s+\{"n":1\}$/m);
    const json = await runJson<{ task: TaskJson }>(['--db', ws.db, 'show', '1']);
    expect(json.json.task.payload).toEqual({ n: 1 });

    const missing = await runJson<{ error: { code: string } }>(['--db', ws.db, 'show', '99']);
    expect(missing.code).toBe(1);
    expect(missing.json.error.code).toBe('TASKBRIDGE_TASK_NOT_FOUND');
  });

  it('cancel then retry: a queued task is cancelled, cancelling again exits 1, retry requeues it', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'email']);
    const cancelled = await runJson<{ outcome: string }>(['--db', ws.db, 'cancel', '1']);
    expect(cancelled).toMatchObject({ code: 0, json: { outcome: 'cancelled' } });
    const again = await runCli(['--db', ws.db, 'cancel', '1']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already finished/);

    const retried = await runJson<{ task: TaskJson }>(['--db', ws.db, 'retry', '1']);
    expect(retried.code).toBe(0);
    expect(retried.json.task).toMatchObject({ id: 1, status: 'queued', attempts: 0 });
    const retryQueued = await runCli(['--db', ws.db, 'retry', '1']);
    expect(retryQueued.code).toBe(1);
    expect(retryQueued.stderr).toMatch(/Task 1 is queued/);
  });

  it('read commands refuse a missing database with exit 1 and create nothing', async () => {
    for (const args of [['list'], ['show', '1'], ['stats'], ['backup', `${ws.dir}/b.db`], ['checkpoint']]) {
      const result = await runCli(['--db', ws.db, ...args]);
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expect(result.stderr).toMatch(/does not exist/);
    }
    expect(fs.existsSync(ws.db)).toBe(false);
  });

  it('TASKBRIDGE_DB_PATH is the default database, and ./data/taskbridge.db without it', async () => {
    await runCli(['enqueue', 'env'], { env: { TASKBRIDGE_DB_PATH: ws.db } });
    const viaEnv = await runJson<{ tasks: TaskJson[] }>(['--db', ws.db, 'list']);
    expect(viaEnv.json.tasks.map((t) => t.type)).toEqual(['env']);

    await runCli(['enqueue', 'cwd'], { cwd: ws.dir });
    expect(fs.existsSync(path.join(ws.dir, 'data', 'taskbridge.db'))).toBe(true);
  });

  it.each([
    [[], 'no command'],
    [['bogus'], 'unknown command'],
    [['list', '--bogus'], 'unknown option'],
    [['list', '--status', 'nope'], 'invalid choice'],
    [['list', '--status', ''], 'empty status'],
    [['list', '--status', ','], 'status list with no status in it'],
    [['list', '--limit', '-3'], 'negative limit'],
    [['enqueue'], 'missing argument'],
    [['enqueue', 'x', '--payload', '{bad'], 'malformed JSON'],
    [['enqueue', 'x', '--delay', 'soon'], 'malformed duration'],
    [['enqueue', 'x', '--priority', '2000000'], 'priority out of range'],
    [['show', 'abc'], 'non-numeric id'],
    [['cleanup'], 'cleanup without an age'],
    [['worker'], 'worker without --handlers'],
    [['worker', '--handlers', '/nonexistent/handlers.js'], 'handlers file missing'],
  ])('bad usage exits 2: %j (%s)', async (args) => {
    const result = await runCli(['--db', ws.db, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toBe('');
  });

  it.each([
    [['list', '--limit', '-3'], /--limit.*-3/],
    [['list', '--bogus'], /unknown option '--bogus'/],
    [['enqueue', 'x', '--delay', 'soon'], /--delay.*soon/],
    [['enqueue', 'x', '--priority', '2000000'], /priority.*2000000/],
  ])('bad usage with --json prints the error document on stdout too: %j', async (args, message) => {
    const result = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, ...args]);
    expect(result.code).toBe(2);
    expect(result.json.error.code).toMatch(/^TASKBRIDGE_/);
    expect(result.json.error.message).toMatch(message);
  });

  it.each([
    [[]], [['enqueue']], [['list']], [['show']], [['retry']], [['cancel']], [['worker']], [['stats']], [['health']], [['serve']],
    [['backup']], [['restore']], [['cleanup']], [['vacuum']], [['checkpoint']], [['mode']], [['parity']],
  ])('--help works on every command: %j', async (args) => {
    const result = await runCli([...args, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: taskbridge/);
  });
});
