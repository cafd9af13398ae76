import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, runCli, startCli, toRollbackJournal, useWorkspace, waitUntil, writeHandlers } from './helpers';

/**
 * A preload for the CLI process that appends `open` to $CONNECTION_LOG when a read-only check
 * connection sets its busy timeout (the step right before its first read) and `close` when any
 * connection closes: the test sees how far start-up got, and that every connection was closed.
 */
function writeConnectionLog(dir: string): string {
  const file = path.join(dir, 'log-connections.js');
  fs.writeFileSync(file, `
const fs = require('node:fs');
const Database = require(${JSON.stringify(require.resolve('better-sqlite3', { paths: [ROOT] }))});
const { pragma, close } = Database.prototype;
Database.prototype.pragma = function (source, options) {
  if (/busy_timeout/i.test(source)) fs.appendFileSync(process.env.CONNECTION_LOG, 'open\\n');
  return pragma.call(this, source, options);
};
Database.prototype.close = function () {
  fs.appendFileSync(process.env.CONNECTION_LOG, 'close\\n');
  return close.call(this);
};
`);
  return file;
}

/**
 * Starts the CLI with `args` while another connection holds an exclusive lock on the database in
 * rollback-journal mode, so the command's first read of the file waits (up to its 5 s busy
 * timeout) for as long as the lock is held: a real start-up still under way. Sends SIGTERM once
 * the command opened its connection, then releases the lock.
 */
async function signalDuringStartUp(ws: { dir: string; db: string }, args: string[], what: string) {
  expect((await runCli(['--db', ws.db, 'enqueue', 'email'])).code).toBe(0);
  toRollbackJournal(ws.db);
  const holder = new Database(ws.db);
  holder.exec('BEGIN EXCLUSIVE');
  const log = path.join(ws.dir, 'connections.log');
  fs.writeFileSync(log, '');
  const env = { NODE_OPTIONS: `--require ${writeConnectionLog(ws.dir)}`, CONNECTION_LOG: log };
  const cli = startCli(['--db', ws.db, ...args], { env, cwd: ws.dir });
  let exited: Promise<number | null>;
  try {
    await waitUntil(() => fs.readFileSync(log, 'utf8').includes('open'), 20_000, what);
    exited = cli.stop('SIGTERM');
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
  const code = await exited;
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
  return { code, signal: cli.child.signalCode, stderr: cli.errors(), opens: lines.filter((l) => l === 'open').length, closes: lines.filter((l) => l === 'close').length };
}

describe('a stop signal during start-up', () => {
  const ws = useWorkspace();

  it('SIGTERM while serve is still checking the database before it listens stops it cleanly (exit 0, connection closed), not by the signal', async () => {
    const outcome = await signalDuringStartUp(ws, ['serve', '--port', '0', '--json'], 'serve to open the database for its check');
    expect({ code: outcome.code, signal: outcome.signal, stderr: outcome.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(outcome.closes).toBe(outcome.opens);
  });

  it('SIGTERM while a worker is still opening its store stops it cleanly (exit 0, store closed), not by the signal', async () => {
    writeHandlers(ws.dir, 'module.exports = { email: async () => "sent" };');
    const outcome = await signalDuringStartUp(ws, ['worker', '--handlers', 'handlers.js', '--json'], 'the worker to open its store');
    expect({ code: outcome.code, signal: outcome.signal, stderr: outcome.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    // The store's file-guard connections close too, without the busy_timeout step counted as an open.
    expect(outcome.closes).toBeGreaterThanOrEqual(outcome.opens);
  });
});
