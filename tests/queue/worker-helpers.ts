import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/core/clock';
import type { Logger } from '../../src/core/logger';
import type { TaskEvents } from '../../src/queue/events';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import type { TaskStore } from '../../src/queue/types';
import type { Worker } from '../../src/queue/worker';

/**
 * Polls `condition` every few ms until it holds; fails after `timeoutMs` (default 20 s) naming `what`
 * instead of hanging. The bound only turns a hang into a failure, so the default is generous for a
 * loaded machine; pass one only where the time itself is part of what the test checks.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, what?: string): Promise<void>;
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs?: number, what?: string): Promise<void>;
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutOrWhat?: number | string, what = 'condition'): Promise<void> {
  const timeoutMs = typeof timeoutOrWhat === 'number' ? timeoutOrWhat : 20_000;
  const label = typeof timeoutOrWhat === 'string' ? timeoutOrWhat : what;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Under jest's fake timers: moves fake time on in 1 ms steps until `condition` holds; fails after
 * `limitMs` of fake time, so a condition that never holds ends the test instead of hanging it.
 */
export async function advanceUntil(condition: () => boolean, what: string, limitMs = 60_000): Promise<void> {
  for (let ms = 0; !condition(); ms++) {
    if (ms > limitMs) throw new Error(`${what} did not happen within ${limitMs} ms of fake time`);
    await jest.advanceTimersByTimeAsync(1);
  }
}

/** A promise with its resolve function exposed, for handlers the test releases by hand. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** A logger that keeps what it was told, so tests can assert on warnings without noise. */
export class MemoryLogger implements Logger {
  readonly lines: { level: string; message: string; meta?: Record<string, unknown> }[] = [];
  error(message: string, meta?: Record<string, unknown>): void { this.lines.push({ level: 'error', message, meta }); }
  warn(message: string, meta?: Record<string, unknown>): void { this.lines.push({ level: 'warn', message, meta }); }
  info(message: string, meta?: Record<string, unknown>): void { this.lines.push({ level: 'info', message, meta }); }
  debug(message: string, meta?: Record<string, unknown>): void { this.lines.push({ level: 'debug', message, meta }); }
}

/** A temp folder removed by the returned cleanup. */
export function tempDir(prefix = 'taskbridge-worker-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Opens a real SQLite store on a file in `dir` through the store factory. */
export function openStore(dir: string, options: { clock?: Clock; events?: TaskEvents; logger?: Logger } = {}): TaskStore {
  return createSqliteTaskStore({ path: join(dir, 'queue.db'), logger: options.logger ?? new MemoryLogger(), ...options });
}

/**
 * Sets up a describe block of worker tests: before each test a real store on a fresh temp folder
 * and an empty list of workers; after it, every listed worker stopped at once, the store closed and
 * the folder removed. Call it in the describe body; the returned getters read the running test's own.
 */
export function useWorkerStore(): { readonly store: TaskStore; readonly workers: Worker[]; readonly logger: MemoryLogger } {
  let current: { store: TaskStore; workers: Worker[]; logger: MemoryLogger; cleanup: () => void } | undefined;
  beforeEach(() => {
    const tmp = tempDir();
    current = { store: openStore(tmp.dir), workers: [], logger: new MemoryLogger(), cleanup: tmp.cleanup };
  });
  afterEach(async () => {
    const c = current!;
    current = undefined;
    for (const w of c.workers) await w.stop({ timeout: 0 });
    await c.store.close();
    c.cleanup();
  });
  const now = () => {
    if (current === undefined) throw new Error('useWorkerStore(): the store exists only while a test runs');
    return current;
  };
  return {
    get store() { return now().store; },
    get workers() { return now().workers; },
    get logger() { return now().logger; },
  };
}
