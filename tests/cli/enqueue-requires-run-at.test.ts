import fs from 'node:fs';
import { digest, runCli, runJson, startCli, useWorkspace, waitUntil, writeHandlers } from './helpers';

interface TaskJson {
  id: number;
  status: string;
  runAfter: string;
  requires: Record<string, string> | null;
}

describe('taskbridge enqueue --requires and --run-at', () => {
  const ws = useWorkspace();

  it('--requires builds the task requirements, one pair per flag; show and list --json have them', async () => {
    const enqueued = await runJson<{ task: TaskJson }>(['--db', ws.db, 'enqueue', 'render', '--requires', 'region=eu', '--requires', ' gpus = 2 ', '--requires', 'note=a=b,c', '--requires', 'empty=']);
    expect(enqueued.code).toBe(0);
    const expected = { region: 'eu', gpus: '2', note: 'a=b,c', empty: '' };
    expect(enqueued.json.task.requires).toEqual(expected);

    const shown = await runCli(['--db', ws.db, 'show', '1']);
    expect(shown.stdout).toMatch(/^requires:\s+\{"region":"eu","gpus":"2","note":"a=b,c","empty":""\}$/m);
    const listed = await runJson<{ tasks: TaskJson[] }>(['--db', ws.db, 'list']);
    expect(listed.json.tasks[0]!.requires).toEqual(expected);
  });

  it('a task enqueued with --requires runs only on a worker whose --capabilities offer every pair', async () => {
    writeHandlers(ws.dir, 'module.exports = { render: async () => "done" };');
    await runCli(['--db', ws.db, 'enqueue', 'render', '--requires', 'region=eu', '--requires', 'gpu=yes']);
    await runCli(['--db', ws.db, 'enqueue', 'render']);
    const status = async (id: number): Promise<string> => (await runJson<{ task: TaskJson }>(['--db', ws.db, 'show', String(id)])).json.task.status;

    const elsewhere = startCli(['--db', ws.db, 'worker', '--handlers', 'handlers.js', '--capabilities', 'region=us,gpu=yes'], { cwd: ws.dir });
    await elsewhere.waitForOutput(/started/);
    await waitUntil(async () => (await status(2)) === 'completed', 30_000, 'the task without requirements to run');
    expect(await elsewhere.stop('SIGTERM')).toBe(0);
    expect(await status(1)).toBe('queued');

    const matching = startCli(['--db', ws.db, 'worker', '--handlers', 'handlers.js', '--capabilities', 'gpu = yes, region = eu'], { cwd: ws.dir });
    await matching.waitForOutput(/started/);
    await waitUntil(async () => (await status(1)) === 'completed', 30_000, 'the task requiring region=eu,gpu=yes to run');
    expect(await matching.stop('SIGTERM')).toBe(0);
  });

  it.each([
    ['an ISO date-time in UTC', '2026-11-23T10:00:00Z', '2026-11-23T10:00:00.000Z'],
    ['an ISO date-time with an offset', '2026-11-23T11:30:00+01:30', '2026-11-23T10:00:00.000Z'],
    ['an offset without a colon, as date +%FT%T%z prints it', '2026-11-23T05:00:00-0500', '2026-11-23T10:00:00.000Z'],
    ['a space instead of T, as date --rfc-3339 prints it', '2026-11-23 10:00:00+00:00', '2026-11-23T10:00:00.000Z'],
    ['minutes without seconds', '2026-11-23T10:00Z', '2026-11-23T10:00:00.000Z'],
    ['lower-case t and z, and a tenth of a second', '2026-11-23t10:00:00.5z', '2026-11-23T10:00:00.500Z'],
    ['a fraction finer than a millisecond (cut off)', '2026-11-23T10:00:00.123987Z', '2026-11-23T10:00:00.123Z'],
    ['epoch milliseconds', '1795428000000', '2026-11-23T10:00:00.000Z'],
    ['a time in the past (ready at once)', '2000-01-01T00:00:00Z', '2000-01-01T00:00:00.000Z'],
  ])('--run-at accepts %s', async (_what, value, runAfter) => {
    const { code, json } = await runJson<{ task: TaskJson }>(['--db', ws.db, 'enqueue', 'later', '--run-at', value]);
    expect(code).toBe(0);
    expect(json.task.runAfter).toBe(runAfter);
    const shown = await runCli(['--db', ws.db, 'show', '1']);
    // Names the cause if show failed (once seen as an empty stdout: another test file rebuilt dist/
    // under it, which only jest's global setup does now, tests/support/build.ts).
    if (shown.code !== 0) throw new Error(`show exited ${shown.code}: ${shown.stderr}`);
    // The table shows whole seconds; --json has the milliseconds.
    expect(shown.stdout).toMatch(new RegExp(`^run after:\\s+${runAfter.replace(/\.\d{3}Z$/, 'Z')}$`, 'm'));
    const listed = await runJson<{ tasks: TaskJson[] }>(['--db', ws.db, 'list']);
    expect(listed.json.tasks[0]!.runAfter).toBe(runAfter);
  });

  it('a task whose --run-at is ahead is not run before then', async () => {
    writeHandlers(ws.dir, 'module.exports = { later: async () => "done", now: async () => "done" };');
    await runCli(['--db', ws.db, 'enqueue', 'later', '--run-at', String(Date.now() + 3_600_000)]);
    await runCli(['--db', ws.db, 'enqueue', 'now', '--run-at', '2000-01-01T00:00:00Z']);
    const worker = startCli(['--db', ws.db, 'worker', '--handlers', 'handlers.js'], { cwd: ws.dir });
    await worker.waitForOutput(/started/);
    await waitUntil(async () => (await runJson<{ task: TaskJson }>(['--db', ws.db, 'show', '2'])).json.task.status === 'completed', 30_000, 'the past --run-at task to run');
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect((await runJson<{ task: TaskJson }>(['--db', ws.db, 'show', '1'])).json.task.status).toBe('queued');
  });

  it.each([
    [['--requires', 'region'], '--requires <key=value>', 'region', /expected key=value with a non-empty key/],
    [['--requires', '=eu'], '--requires <key=value>', '=eu', /expected key=value with a non-empty key/],
    [['--requires', ' =eu'], '--requires <key=value>', ' =eu', /expected key=value with a non-empty key/],
    [['--requires', 'region=eu', '--requires', 'region=us'], '--requires <key=value>', 'region=us', /expected each key once, got "region" again \(already "eu"\)/],
    [['--requires', 'region=eu', '--requires', ' region =eu'], '--requires <key=value>', ' region =eu', /expected each key once/],
    [['--run-at', '2026-11-23T10:00:00'], '--run-at <time>', '2026-11-23T10:00:00', /with a time zone.*: add Z or an offset/],
    [['--run-at', '2026-11-23'], '--run-at <time>', '2026-11-23', /ISO 8601 date-time with a time zone/],
    [['--run-at', '2026-02-30T10:00:00Z'], '--run-at <time>', '2026-02-30T10:00:00Z', /: no such date or time/],
    [['--run-at', '2026-11-23T24:00:00Z'], '--run-at <time>', '2026-11-23T24:00:00Z', /: no such date or time/],
    [['--run-at', '2026-11-23T10:00:00+24:00'], '--run-at <time>', '2026-11-23T10:00:00+24:00', /: no such date or time/],
    [['--run-at', '1969-12-31T23:59:59Z'], '--run-at <time>', '1969-12-31T23:59:59Z', /: before 1970-01-01T00:00:00Z/],
    [['--run-at', 'tomorrow'], '--run-at <time>', 'tomorrow', /epoch milliseconds as a decimal integer from 0 to 8640000000000000/],
    [['--run-at', 'Nov 23 2026 10:00 GMT'], '--run-at <time>', 'Nov 23 2026 10:00 GMT', /ISO 8601/],
    [['--run-at', '-1'], '--run-at <time>', '-1', /from 0 to 8640000000000000/],
    [['--run-at', '0x10'], '--run-at <time>', '0x10', /decimal integer/],
    [['--run-at', '1e12'], '--run-at <time>', '1e12', /decimal integer/],
    [['--run-at', '8640000000000001'], '--run-at <time>', '8640000000000001', /from 0 to 8640000000000000/],
  ])('%j is bad usage naming the flag, the value and what is accepted; no database is created', async (args, flag, value, accepted) => {
    const result = await runCli(['--db', ws.db, 'enqueue', 't', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`option '${flag}' argument '${value}' is invalid. expected `);
    expect(result.stderr).toMatch(accepted);
    const json = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, 'enqueue', 't', ...args]);
    expect(json.code).toBe(2);
    expect(json.json.error.code).toBe('TASKBRIDGE_USAGE');
    expect(json.json.error.message).toContain(value);
    expect(fs.existsSync(ws.db)).toBe(false);
  });

  it('--run-at with --delay is refused with a typed error naming both flags; an existing database is left as it was', async () => {
    expect((await runCli(['--db', ws.db, 'enqueue', 'first'])).code).toBe(0);
    const before = digest(ws.db);
    const result = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, 'enqueue', 't', '--delay', '5m', '--run-at', '2026-11-23T11:00:00+01:00']);
    expect(result.code).toBe(2);
    expect(result.json.error).toEqual({
      code: 'TASKBRIDGE_INVALID_OPTION',
      message: 'Invalid --run-at: Date(2026-11-23T10:00:00.000Z); accepted: either --delay or --run-at, not both',
    });
    expect(digest(ws.db)).toBe(before);
    expect((await runJson<{ tasks: TaskJson[] }>(['--db', ws.db, 'list'])).json.tasks.map((t) => t.id)).toEqual([1]);
  });
});
