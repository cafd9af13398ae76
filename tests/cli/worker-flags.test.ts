import fs from 'node:fs';
import { startCli, useWorkspace, writeHandlers, type CliResult } from './helpers';

const HANDLERS = 'module.exports = { ok: async () => null };';

/**
 * Runs `worker` with `args`. A refused command line exits before the worker starts; one that is
 * accepted starts (and would run until a signal), so it is stopped as soon as it says it started.
 * Either way the result comes without waiting on a timer.
 */
async function runWorker(dir: string, args: readonly string[]): Promise<CliResult & { started: boolean }> {
  const worker = startCli(args, { cwd: dir });
  const closed = new Promise<void>((resolve) => worker.child.on('close', () => resolve()));
  const started = await worker.waitForOutput(/started/).then(() => true, () => false);
  const code = await worker.stop('SIGTERM');
  await closed;
  return { code, stdout: worker.output(), stderr: worker.errors(), started };
}

describe('taskbridge worker: flags that need another flag', () => {
  const ws = useWorkspace();

  it.each([
    ['--completed-older-than', '--cleanup-every', '7d'],
    ['--failed-older-than', '--cleanup-every', '30d'],
    ['--backup-dir', '--backup-every', 'backups'],
    ['--backup-keep', '--backup-every', '3'],
  ])('%s without %s is a usage error naming both flags, and creates no database', async (flag, needed, value) => {
    writeHandlers(ws.dir, HANDLERS);
    const result = await runWorker(ws.dir, ['--db', ws.db, 'worker', '--handlers', 'handlers.js', flag, value]);
    expect(result.started).toBe(false);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^taskbridge: usage error: ${flag} needs ${needed}`, 'm'));
    expect(fs.existsSync(ws.db)).toBe(false);
  });

  it('with --json, a retention age without --cleanup-every puts the usage error document on stdout', async () => {
    writeHandlers(ws.dir, HANDLERS);
    const result = await runWorker(ws.dir, ['--db', ws.db, 'worker', '--handlers', 'handlers.js', '--failed-older-than', '30d', '--json']);
    expect(result.started).toBe(false);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({
      error: { code: 'TASKBRIDGE_USAGE', message: expect.stringMatching(/^--failed-older-than needs --cleanup-every/) },
    });
    expect(fs.existsSync(ws.db)).toBe(false);
  });

  it('retention ages with --cleanup-every are accepted', async () => {
    writeHandlers(ws.dir, HANDLERS);
    const result = await runWorker(ws.dir, ['--db', ws.db, 'worker', '--handlers', 'handlers.js', '--cleanup-every', '1h', '--completed-older-than', '7d', '--failed-older-than', '30d']);
    expect(result.started).toBe(true);
    expect(result.code).toBe(0);
  });

  it.each([
    ['--checkpoint-every', '30d', 'a duration from 1s to 2147483647 ms'],
    ['--cleanup-every', '500ms', 'a duration from 1s to 2147483647 ms'],
    ['--backup-every', '1y', 'a duration from 1s to 2147483647 ms'],
  ])('%s %s (outside what a timer can wait) is a usage error naming the flag, the value and the range', async (flag, value, accepted) => {
    writeHandlers(ws.dir, HANDLERS);
    const extra = flag === '--backup-every' ? ['--backup-dir', 'backups'] : [];
    const result = await runWorker(ws.dir, ['--db', ws.db, 'worker', '--handlers', 'handlers.js', flag, value, ...extra]);
    expect(result.started).toBe(false);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`option '${flag} <duration>' argument '${value}' is invalid`);
    expect(result.stderr).toContain(accepted);
    expect(fs.existsSync(ws.db)).toBe(false);
  });

  it('an empty --backup-dir is a usage error naming the flag (it would back up into the working directory)', async () => {
    writeHandlers(ws.dir, HANDLERS);
    const result = await runWorker(ws.dir, ['--db', ws.db, 'worker', '--handlers', 'handlers.js', '--backup-every', '1h', '--backup-dir', ' ']);
    expect(result.started).toBe(false);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("option '--backup-dir <dir>' argument ' ' is invalid");
    expect(fs.existsSync(ws.db)).toBe(false);
  });
});
