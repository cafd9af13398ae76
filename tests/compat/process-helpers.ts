import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

const FIXTURE = path.join(__dirname, 'fixtures', 'app-process.js');

/** Spawns the fixture app with the given flag; collects stdout. */
export function spawnApp(env: Record<string, string>, opts: { start: string[]; hang: boolean; marker: string; module?: string }): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [FIXTURE, JSON.stringify(opts)], {
    env: { PATH: process.env.PATH ?? '', TASKBRIDGE_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => stdout, exited };
}

/** Lines of the marker file, e.g. `start r1 sqlite`. */
export function markers(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
}

/** Resolves within `ms` or rejects naming what was awaited. */
export async function within<T>(p: Promise<T>, label: string, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${label}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * What `read` finds in the database file as the app processes left it: read-only, so reading never
 * checkpoints or rewrites what they wrote. `missing` while the file or its tables (a process
 * creating it) do not exist yet.
 */
export function readAsLeft<T>(dbPath: string, read: (db: Database.Database) => T, missing: T): T {
  if (!fs.existsSync(dbPath)) return missing;
  const raw = new Database(dbPath, { readonly: true });
  try {
    return read(raw);
  } catch (err) {
    if (/no such table/.test((err as Error).message)) return missing;
    throw err;
  } finally {
    raw.close();
  }
}

/** Whether the file says `sql` (one row, column `ok`; `@now` is bound to the current time), read as {@link readAsLeft} reads. */
export function dbSays(dbPath: string, sql: string, params: Record<string, unknown> = {}): boolean {
  return readAsLeft(dbPath, (db) => (db.prepare(sql).get({ ...params, now: Date.now() }) as { ok: number }).ok === 1, false);
}
