import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, runCli, startCli, toRollbackJournal, useWorkspace, waitUntil } from './helpers';

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

describe('taskbridge serve: a stop signal during start-up', () => {
  const ws = useWorkspace();

  it('SIGTERM while serve is still checking the database before it listens stops it cleanly (exit 0, connection closed), not by the signal', async () => {
    expect((await runCli(['--db', ws.db, 'enqueue', 'email'])).code).toBe(0);
    // In rollback-journal mode a write lock keeps readers out, so serve's pre-listen check of the
    // file waits (up to its 5 s busy timeout) for as long as this connection holds the lock: a
    // real start-up that is still under way when the signal arrives.
    toRollbackJournal(ws.db);
    const holder = new Database(ws.db);
    holder.exec('BEGIN EXCLUSIVE');
    const log = path.join(ws.dir, 'connections.log');
    fs.writeFileSync(log, '');
    const env = { NODE_OPTIONS: `--require ${writeConnectionLog(ws.dir)}`, CONNECTION_LOG: log };
    const server = startCli(['--db', ws.db, 'serve', '--port', '0', '--json'], { env });
    let exited: Promise<number | null>;
    try {
      await waitUntil(() => fs.readFileSync(log, 'utf8').includes('open'), 20_000, 'serve to open the database for its check');
      exited = server.stop('SIGTERM');
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect({ code: await exited, signal: server.child.signalCode, stderr: server.errors() }).toEqual({ code: 0, signal: null, stderr: '' });
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l === 'close').length).toBe(lines.filter((l) => l === 'open').length);
  });
});
