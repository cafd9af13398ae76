import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TaskEvents } from '../../src/queue/events';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import { fifo } from '../../src/strategies/ordered';

const quiet = { error() {}, warn() {}, info() {}, debug() {} };

// completeMany writes a batch with one statement when nobody listens for 'completed', and row by
// row (reading each row back for the event) when someone does: both must store and report alike.
describe.each([
  ['without a completed listener (one statement)', false],
  ['with a completed listener (row by row)', true],
])('SQLite completeMany %s', (_name, listening) => {
  let dir: string;
  let store: SqliteTaskStore;
  let completedEvents: number[];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-complete-many-'));
    const events = new TaskEvents();
    completedEvents = [];
    if (listening) events.on('completed', ({ task }) => completedEvents.push(task.id));
    store = createSqliteTaskStore({ path: path.join(dir, 'q.db'), logger: quiet, events });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const claimAll = (n: number) => store.claimSync({ workerId: 'w', limit: n, leaseMs: 60_000, strategy: fifo });

  it('stores every kind of JSON result exactly and leaves the lease columns cleared', () => {
    const results = [undefined, null, 0, -1.5, 'text with "quotes" and \\ and é ✓', [1, [2]], { a: { b: null } }, true, ''];
    store.enqueueBatchSync(results.map(() => ({ type: 't' })));
    const claimed = claimAll(results.length);
    const held = store.completeManySync(claimed.map((c, i) => ({ taskId: c.task.id, token: c.token, result: results[i] })));
    expect(held).toEqual(results.map(() => true));
    claimed.forEach((c, i) => {
      const task = store.getSync(c.task.id)!;
      expect(task.status).toBe('completed');
      expect(task.result).toEqual(results[i] === undefined ? null : results[i]);
      expect(task.leaseExpiresAt).toBeNull();
      expect(task.finishedAt).not.toBeNull();
    });
    if (listening) expect(completedEvents.sort((a, b) => a - b)).toEqual(claimed.map((c) => c.task.id));
  });

  it('a task listed twice is completed once: the first item reports held, the second lost', () => {
    store.enqueueBatchSync([{ type: 't' }, { type: 't' }]);
    const [a, b] = claimAll(2);
    const held = store.completeManySync([
      { taskId: a!.task.id, token: a!.token, result: 'first' },
      { taskId: b!.task.id, token: b!.token },
      { taskId: a!.task.id, token: a!.token, result: 'second' },
    ]);
    expect(held).toEqual([true, true, false]);
    expect(store.getSync(a!.task.id)!.result).toBe('first');
  });

  it('a stale token, a finished task and an unknown id report false and change nothing', () => {
    store.enqueueBatchSync([{ type: 't' }, { type: 't' }, { type: 't' }]);
    const [a, b, c] = claimAll(3);
    expect(store.completeManySync([{ taskId: b!.task.id, token: b!.token }])).toEqual([true]);
    const held = store.completeManySync([
      { taskId: a!.task.id, token: a!.token + 1 },
      { taskId: b!.task.id, token: b!.token },
      { taskId: 999_999, token: 1 },
      { taskId: c!.task.id, token: c!.token },
    ]);
    expect(held).toEqual([false, false, false, true]);
    expect(store.getSync(a!.task.id)!.status).toBe('running');
    expect(store.countsSync().byStatus).toMatchObject({ running: 1, completed: 2 });
  });

  it('an empty batch writes nothing', () => {
    expect(store.completeManySync([])).toEqual([]);
  });
});
