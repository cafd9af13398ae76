import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { SILENT, exited, runCli, waitFor, useSandbox } from './harness';

describe('security', () => {
  const box = useSandbox();

  it('a created database file is readable and writable by its owner only, through the API and the CLI', () => {
    const oldMask = process.umask(0o022);
    try {
      const api = join(box.dir, 'nested', 'api.db');
      createSqliteTaskStore({ path: api, logger: SILENT }).closeSync();
      expect(statSync(api).mode & 0o777).toBe(0o600);
      const cli = join(box.dir, 'cli.db');
      expect(runCli(['--db', cli, 'enqueue', 'work']).status).toBe(0);
      expect(statSync(cli).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(oldMask);
    }
  });

  it('taskbridge worker loads handlers only from the given path, never through module resolution', () => {
    const db = join(box.dir, 'q.db');
    // A package of the same name exists in node_modules; a file of that name does not exist here.
    mkdirSync(join(box.dir, 'work'), { recursive: true });
    for (const name of ['commander', 'winston', 'fast-check']) {
      const r = runCli(['--db', db, 'worker', '--handlers', name]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--handlers: no file at ${join(process.cwd(), name)}`);
    }
    const r = runCli(['--db', db, 'worker', '--handlers', join(box.dir, 'work')]);
    expect(r.status).toBe(2); // a directory is not a handlers file (no index.js lookup)
  });

  it('nothing logs payloads: a marker payload never appears in any log line, at the most verbose level', async () => {
    const db = join(box.dir, 'q.db');
    const marker = 'SECRET-MARKER-7f3a9c';
    const handlers = join(box.dir, 'handlers.js');
    writeFileSync(handlers, `module.exports = {
      ok: async () => ({ fine: true }),
      boom: async () => { throw new Error('failed'); },
      slow: async (_p, ctx) => { await new Promise((r) => setTimeout(r, 50)); return 'late'; },
    };`);
    for (const type of ['ok', 'boom', 'slow', 'nohandler']) {
      const r = runCli(['--db', db, 'enqueue', type, '--payload', JSON.stringify({ token: marker }), '--max-attempts', '2'], { TASKBRIDGE_LOG_LEVEL: 'debug' });
      expect(r.status).toBe(0);
      expect(r.stderr).not.toContain(marker);
    }
    const worker = box.children.cli(['--db', db, 'worker', '--handlers', handlers, '--checkpoint-every', '1s'], { TASKBRIDGE_LOG_LEVEL: 'debug' });
    await waitFor(() => {
      const r = runCli(['--db', db, '--json', 'stats']);
      return r.status === 0 && /"completed": 2/.test(r.stdout);
    }, 20_000, 'ok and slow completed');
    worker.kill('SIGTERM');
    await exited(worker);
    const logged = [worker.err.join(''), runCli(['--db', db, 'list'], { TASKBRIDGE_LOG_LEVEL: 'debug' }).stderr].join('\n');
    expect(logged.length).toBeGreaterThan(0); // the check would see a payload if one were logged
    expect(logged).not.toContain(marker);
  });
});
