import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/core/clock';
import type { Logger } from '../../src/core/logger';
import type { TaskEvents } from '../../src/queue/events';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import type { TaskStore } from '../../src/queue/types';

/** Polls `condition` every few ms until it holds; fails after `timeoutMs` instead of hanging. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
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
