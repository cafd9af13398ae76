import type { SqliteTaskStore } from '../../src/queue/store-factory';
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const ROOT = join(__dirname, '../..');
export const FIXTURES = join(__dirname, 'fixtures');
export const CLI = join(ROOT, 'dist/cli/main.js');
export const SILENT = { error() {}, warn() {}, info() {}, debug() {} };

/** A temp folder removed by the returned cleanup. */
export function tempDir(prefix = 'taskbridge-rel-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `condition` until it holds; fails after `timeoutMs` instead of hanging. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Children started by a test, killed (by their own pid) when it ends. */
export class Children {
  readonly all: ChildProcess[] = [];

  fork(script: string, args: string[], env: Record<string, string> = {}, captureStderr = false): ChildProcess {
    const child = fork(script, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', captureStderr ? 'pipe' : 'inherit', 'ipc'],
    });
    this.track(child);
    return child;
  }

  /** Runs the `taskbridge` CLI (built) as a long-running child with stdout and stderr captured. */
  cli(args: string[], env: Record<string, string> = {}): ChildProcess & { out: string[]; err: string[] } {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    return this.track(child);
  }

  private track<T extends ChildProcess>(child: T): T & { out: string[]; err: string[] } {
    const c = child as T & { out: string[]; err: string[] };
    c.out = [];
    c.err = [];
    c.stdout?.on('data', (d: Buffer) => c.out.push(d.toString()));
    c.stderr?.on('data', (d: Buffer) => c.err.push(d.toString()));
    this.all.push(c);
    return c;
  }

  killAll(): void {
    for (const child of this.all.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
}

export { nextMessage } from '../support/child-messages';

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Runs the built CLI to completion. */
export function runCli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 15_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Every row of every table and the schema, as text: two equal dumps mean nothing was written.
 * Read through a read-only connection so the dump itself changes nothing.
 */
export function dump(dbPath: string): string {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const schema = db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name').all() as { type: string; name: string }[];
    const parts: string[] = [JSON.stringify(schema), `user_version=${db.pragma('user_version', { simple: true })}`];
    for (const t of schema) {
      if (t.type !== 'table' || t.name.startsWith('sqlite_')) continue;
      // Sorted as text: some tables are WITHOUT ROWID, and any stable order will do for equality.
      const rows = (db.prepare(`SELECT * FROM "${t.name.replace(/"/g, '""')}"`).raw().all() as unknown[]).map((r) => JSON.stringify(r)).sort();
      parts.push(`${t.name}:${rows.join(',')}`);
    }
    return parts.join('\n');
  } finally {
    db.close();
  }
}

/** Lines of a file ('' when it does not exist). */
export function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/**
 * Records a scenario's figures. With TASKBRIDGE_RELIABILITY_REPORT=<file> they are appended there
 * as JSON lines (docs/reliability.md quotes the last run); otherwise they are dropped.
 */
export function report(scenario: string, figures: Record<string, unknown>): void {
  const file = process.env.TASKBRIDGE_RELIABILITY_REPORT;
  if (file) require('node:fs').appendFileSync(file, `${JSON.stringify({ scenario, ...figures })}\n`);
}

/** Ids from a producer's "accepted <ids...>" lines. */
export function acceptedIds(file: string): number[] {
  return lines(file).filter((l) => l.startsWith('accepted ')).flatMap((l) => l.slice(9).split(' ').map(Number));
}

/** What one reliability test works in: a temp folder, its child processes, and a store it may open. */
export interface Sandbox {
  readonly dir: string;
  readonly children: Children;
  /** A store the test opened; closed after the test. */
  store: SqliteTaskStore | undefined;
}

/**
 * Registers the hooks every reliability scenario needs: a fresh temp folder
 * per test, and afterwards every child killed, the test's store closed and the folder removed.
 */
export function useSandbox(): Sandbox {
  const box: { dir: string; children: Children; store: SqliteTaskStore | undefined } = { dir: '', children: new Children(), store: undefined };
  let cleanup = (): void => undefined;
  beforeEach(() => {
    ({ dir: box.dir, cleanup } = tempDir());
  });
  afterEach(async () => {
    box.children.killAll();
    await box.store?.close();
    box.store = undefined;
    cleanup();
  });
  return box;
}
