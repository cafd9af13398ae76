import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/core/clock';
import { SeededRandom } from '../../src/core/random';
import { TaskEvents } from '../../src/queue/events';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import type { TaskStore } from '../../src/queue/types';

/** What a queue test needs from a backend: a fresh store on its own database, and cleanup. */
export interface StoreHarness {
  readonly store: TaskStore;
  readonly clock: ManualClock;
  readonly events: TaskEvents;
  /** Opens a second connection to the same database (another "process" in-process). */
  reopen(): TaskStore;
  cleanup(): Promise<void>;
}

export interface StoreFactory {
  readonly name: string;
  create(options?: { seed?: number; maxPayloadBytes?: number }): StoreHarness;
}

/** Every backend the shared queue tests run against; a PostgreSQL store adds itself here. */
export const storeFactories: StoreFactory[] = [
  {
    name: 'sqlite',
    create(options = {}) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-store-'));
      const file = path.join(dir, 'queue.db');
      const clock = new ManualClock();
      const events = new TaskEvents();
      const silent = { error() {}, warn() {}, info() {}, debug() {} };
      const open = (): TaskStore =>
        createSqliteTaskStore({
          path: file, clock, events, logger: silent,
          random: new SeededRandom(options.seed ?? 42),
          ...(options.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: options.maxPayloadBytes }),
        });
      const stores: TaskStore[] = [open()];
      return {
        store: stores[0]!,
        clock,
        events,
        reopen() {
          const s = open();
          stores.push(s);
          return s;
        },
        async cleanup() {
          for (const s of stores) await s.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];
