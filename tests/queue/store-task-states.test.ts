import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ManualClock } from '../../src/core/clock';
import { DatabaseReplacedError, InvalidOptionError } from '../../src/core/errors';
import { STATES_CHUNK, STATES_SQL } from '../../src/queue/sqlite/sql/queries';
import { SqliteTaskStore } from '../../src/queue/sqlite/store';
import { fifo } from '../../src/strategies';
import { thrownBy } from '../support/thrown';
import { MemoryLogger } from './worker-helpers';

describe('SqliteTaskStore taskStatesSync: the states of many tasks in one read', () => {
  let dir: string;
  let file: string;
  let clock: ManualClock;
  let store: SqliteTaskStore;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-states-'));
    file = path.join(dir, 'q.db');
    clock = new ManualClock();
    store = new SqliteTaskStore({ path: file, clock, logger: new MemoryLogger() });
  });

  afterEach(() => {
    store.closeSync();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const claimOne = (workerId: string) => store.claimSync({ workerId, limit: 1, leaseMs: 60_000, strategy: fifo })[0]!;

  it('gives each task its status, lease owner and outcome fields; unknown ids are left out', () => {
    const [done, failed, running, queued] = store.enqueueBatchSync([{ type: 't' }, { type: 't' }, { type: 't' }, { type: 't' }]).map((r) => r.task.id);
    const c1 = claimOne('w1');
    clock.advance(1_500);
    expect(store.completeSync(c1.task.id, c1.token)).toBe(true);
    const c2 = claimOne('w1');
    clock.advance(500);
    expect(store.failSync(c2.task.id, c2.token, { message: 'boom', retryable: false })).toBe('dead');
    claimOne('w2');
    const start = clock.now();

    const states = store.taskStatesSync([queued!, running!, failed!, done!, 999]).sort((a, b) => a.id - b.id);
    // A finished task keeps the owner of its last lease.
    expect(states).toEqual([
      { id: done, status: 'completed', leaseOwner: 'w1', startedAt: start - 2_000, finishedAt: start - 500, lastError: null },
      { id: failed, status: 'failed', leaseOwner: 'w1', startedAt: start - 500, finishedAt: start, lastError: 'boom' },
      { id: running, status: 'running', leaseOwner: 'w2', startedAt: start, finishedAt: null, lastError: null },
      { id: queued, status: 'queued', leaseOwner: null, startedAt: null, finishedAt: null, lastError: null },
    ]);
    // The same times and outcome as the full read of each task.
    for (const s of states) {
      const task = store.getSync(s.id)!;
      expect(s).toEqual({ id: task.id, status: task.status, leaseOwner: task.leaseOwner, startedAt: task.startedAt?.getTime() ?? null, finishedAt: task.finishedAt?.getTime() ?? null, lastError: task.lastError });
    }
  });

  it('leaves out the tasks whose status is not asked for', () => {
    const [a, b] = store.enqueueBatchSync([{ type: 't' }, { type: 't' }]).map((r) => r.task.id);
    claimOne('w');
    expect(store.taskStatesSync([a!, b!], ['running', 'completed']).map((s) => s.id)).toEqual([a]);
    expect(store.taskStatesSync([a!, b!], ['queued']).map((s) => s.id)).toEqual([b]);
    expect(store.taskStatesSync([])).toEqual([]);
  });

  it('reads any number of ids, past one statement chunk', () => {
    const ids = store.enqueueBatchSync(Array.from({ length: STATES_CHUNK + 7 }, () => ({ type: 't' }))).map((r) => r.task.id);
    const states = store.taskStatesSync([...ids].reverse());
    expect(states).toHaveLength(ids.length);
    expect(new Set(states.map((s) => s.id))).toEqual(new Set(ids));
  });

  it('looks each id up by primary key: no scan of the tasks table', () => {
    const db = new Database(file, { readonly: true });
    try {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${STATES_SQL}`).all('[1]', '["running"]') as { detail: string }[]).map((r) => r.detail);
      expect(plan).toContain('SEARCH tasks USING INTEGER PRIMARY KEY (rowid=?)');
      expect(plan.filter((d) => /SCAN tasks/.test(d))).toEqual([]);
    } finally {
      db.close();
    }
  });

  it.each([
    ['not an array', 5, undefined, 'taskIds'],
    ['an id that is not a positive integer', [1, 1.5], undefined, 'taskId'],
    ['a zero id', [0], undefined, 'taskId'],
    ['no statuses', [1], [], 'statuses'],
    ['an unknown status', [1], ['queued', 'dead'], 'statuses'],
  ])('refuses %s with InvalidOptionError', (_name, ids, statuses, field) => {
    store.enqueueSync({ type: 't' });
    const err = thrownBy(() => store.taskStatesSync(ids as number[], statuses as never));
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err).toMatchObject({ field });
  });

  it('refuses with DatabaseReplacedError once the file was replaced', () => {
    const id = store.enqueueSync({ type: 't' }).task.id;
    fs.writeFileSync(`${file}.other`, 'not a database '.repeat(1000));
    fs.renameSync(`${file}.other`, file);
    expect(thrownBy(() => store.verifyFileSync())).toBeInstanceOf(DatabaseReplacedError);
    expect(thrownBy(() => store.taskStatesSync([id]))).toBeInstanceOf(DatabaseReplacedError);
  });
});
