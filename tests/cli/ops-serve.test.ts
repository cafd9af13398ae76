import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { ROOT, runCli, runJson, startCli, useWorkspace } from './helpers';

/**
 * A preload for the CLI process that appends one line to $PRAGMA_LOG per `PRAGMA quick_check` any
 * connection runs: the cost of a scrape is seen without timing it.
 */
function writePragmaCounter(dir: string): string {
  const file = path.join(dir, 'count-quick-check.js');
  fs.writeFileSync(file, `
const fs = require('node:fs');
const Database = require(${JSON.stringify(require.resolve('better-sqlite3', { paths: [ROOT] }))});
const pragma = Database.prototype.pragma;
Database.prototype.pragma = function (source, options) {
  if (/quick_check/i.test(source)) fs.appendFileSync(process.env.PRAGMA_LOG, 'quick_check\\n');
  return pragma.call(this, source, options);
};
`);
  return file;
}

describe('taskbridge serve and health: scrape cost, methods, port and log level refusals', () => {
  const ws = useWorkspace();

  it('a /metrics scrape reads the figures without a quick_check of the whole file; /health still runs one', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'email']);
    const log = path.join(ws.dir, 'pragmas.log');
    fs.writeFileSync(log, '');
    const env = { NODE_OPTIONS: `--require ${writePragmaCounter(ws.dir)}`, PRAGMA_LOG: log };
    const server = startCli(['--db', ws.db, 'serve', '--port', '0', '--json'], { env });
    try {
      const [, port] = await server.waitForOutput(/"port": (\d+)/);
      const checksBefore = fs.readFileSync(log, 'utf8');
      for (let i = 0; i < 3; i++) {
        const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
        expect(metrics.status).toBe(200);
        const lines = (await metrics.text()).split('\n');
        expect(lines).toContain('taskbridge_tasks{status="queued"} 1');
        expect(lines.some((l) => /^taskbridge_database_bytes [1-9]\d*$/.test(l))).toBe(true);
        expect(lines.some((l) => /^taskbridge_wal_bytes \d+$/.test(l))).toBe(true);
      }
      expect(fs.readFileSync(log, 'utf8')).toBe(checksBefore);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      expect(fs.readFileSync(log, 'utf8')).toBe(`${checksBefore}quick_check\n`);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });

  it('answers 405 with an Allow header to a method other than GET or HEAD, and HEAD like GET without a body', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'email']);
    const server = startCli(['--db', ws.db, 'serve', '--port', '0', '--json']);
    try {
      const [, port] = await server.waitForOutput(/"port": (\d+)/);
      for (const target of ['/metrics', '/health', '/nope']) {
        const posted = await fetch(`http://127.0.0.1:${port}${target}`, { method: 'POST', body: 'x' });
        expect({ target, status: posted.status, allow: posted.headers.get('allow') }).toEqual({ target, status: 405, allow: 'GET, HEAD' });
      }
      const head = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await head.text()).toBe('');
    } finally {
      expect(await server.stop('SIGINT')).toBe(0);
    }
  });

  it('answers a request target that is not a URL path with 400, logging no server error', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'email']);
    const server = startCli(['--db', ws.db, 'serve', '--port', '0', '--json']);
    try {
      const [, port] = await server.waitForOutput(/"port": (\d+)/);
      // fetch() would normalise the target; a raw request sends it as a client could.
      const statusLine = await new Promise<string>((resolve, reject) => {
        let reply = '';
        const socket = net.connect(Number(port), '127.0.0.1', () => socket.end('GET //[ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
        socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
        socket.on('end', () => resolve(reply.split('\r\n')[0] ?? ''));
        socket.on('error', reject);
      });
      expect(statusLine).toBe('HTTP/1.1 400 Bad Request');
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    expect(server.errors()).toBe('');
  });

  it('a --port another process listens on is a usage error naming --port, the value and what is accepted', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'email']);
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const text = await runCli(['--db', ws.db, 'serve', '--port', String(port)]);
      expect(text.code).toBe(2);
      expect(text.stderr).toMatch(new RegExp(`Invalid --port: ${port}; accepted: .*port .*free.*127\\.0\\.0\\.1.*in use`));
      const json = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, 'serve', '--port', String(port)]);
      expect(json.code).toBe(2);
      expect(json.json.error).toEqual({ code: 'TASKBRIDGE_INVALID_OPTION', message: expect.stringContaining(`Invalid --port: ${port}`) });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('health refuses an invalid TASKBRIDGE_LOG_LEVEL with exit 2, as every other command does', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'email']);
    const result = await runCli(['--db', ws.db, 'health'], { env: { TASKBRIDGE_LOG_LEVEL: 'loud' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Invalid TASKBRIDGE_LOG_LEVEL: "loud"; accepted: error, warn, info, debug, silent/);
    expect(result.stdout).toBe('');
  });
});
