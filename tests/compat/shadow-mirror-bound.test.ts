import Database from 'better-sqlite3';
import { ManualClock } from '../../src/core/clock';
import { createLogger } from '../../src/core/logger';
import { MirrorWriter, SHADOW_QUEUE } from '../../src/compat';
import type { Run } from '../../src/manager';
import { openMirrorStore } from '../../src/queue/sqlite/mirror-store';
import { tempDb, type TempDb } from './helpers';

const finished = (runId: string): Run => ({
  runId, moduleId: 'm', moduleName: 'M', status: 'completed', createdAt: new Date(0), startedAt: new Date(1), completedAt: new Date(2), parameters: {},
});

/** A writer on a real file whose timer never fires during the test: every write is an explicit flush or the bound. */
function writerOn(db: TempDb, maxPending: number): MirrorWriter {
  const clock = new ManualClock();
  const store = openMirrorStore(db.dbPath, clock, 20);
  return new MirrorWriter(store, { clock, logger: createLogger('silent'), owner: 'o', flushDelayMs: 600_000, leaseMs: 30_000, maxPending });
}

function mirroredKeys(db: TempDb): string[] {
  const store = openMirrorStore(db.dbPath, new ManualClock());
  try {
    return store.listQueue(SHADOW_QUEUE).map((r) => r.key as string).sort();
  } finally {
    store.close();
  }
}

describe('shadow mirror backlog bound', () => {
  let db: TempDb;
  beforeEach(() => (db = tempDb()));
  afterEach(() => db.remove());

  it('a burst larger than the backlog bound on a healthy database drops nothing', () => {
    const writer = writerOn(db, 10);
    // One synchronous burst: the flush timer cannot fire in between.
    for (let i = 0; i < 25; i++) writer.push(finished(`r${i}`));
    expect(writer.stats().pending).toBeLessThanOrEqual(10);
    writer.close();
    expect(writer.stats()).toMatchObject({ dropped: 0, faults: 0, mirrored: 25, pending: 0 });
    expect(mirroredKeys(db)).toHaveLength(25);
  });

  it('while the database stays locked, the backlog stays bounded, each given-up state is counted, and the rest catch up once it clears', () => {
    const writer = writerOn(db, 10);
    const locker = new Database(db.dbPath, { timeout: 1 });
    locker.prepare('BEGIN EXCLUSIVE').run();
    try {
      for (let i = 0; i < 25; i++) writer.push(finished(`r${i}`));
      const during = writer.stats();
      expect(during.pending).toBe(10);
      expect(during.dropped).toBe(15);
      expect(during.faults).toBeGreaterThan(0);
      expect(during.faultsByCode.SQLITE_BUSY).toBeGreaterThan(0);
    } finally {
      locker.prepare('COMMIT').run();
      locker.close();
    }
    writer.flush();
    expect(writer.stats()).toMatchObject({ pending: 0, mirrored: 10, dropped: 15 });
    // The newest states are the ones kept; the dropped ones are absent from the file (parity reports them).
    expect(mirroredKeys(db)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i + 15}`).sort());
    writer.close();
  });
});
