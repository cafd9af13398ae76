import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/core/clock';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import { MemoryLogger } from './worker-helpers';

/** A temp folder with a queue file `q.db`, its store open on a ManualClock at 2026-01-01. */
export interface MaintenanceWorkspace {
  readonly dir: string;
  readonly file: string;
  readonly clock: ManualClock;
  readonly store: SqliteTaskStore;
}

/** Opens a fresh workspace (for a beforeEach). */
export function openMaintenanceWorkspace(prefix: string): MaintenanceWorkspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const file = path.join(dir, 'q.db');
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  return { dir, file, clock, store: createSqliteTaskStore({ path: file, clock, logger: new MemoryLogger() }) };
}

/** Closes the store and removes the folder (for an afterEach). */
export async function closeMaintenanceWorkspace(ws: Pick<MaintenanceWorkspace, 'dir' | 'store'>): Promise<void> {
  await ws.store.close();
  fs.rmSync(ws.dir, { recursive: true, force: true });
}
