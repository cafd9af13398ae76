import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/core/clock';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import { fifo } from '../../src/strategies/ordered';
import { weightedRandom } from '../../src/strategies/weighted-random';
import type { Strategy } from '../../src/strategies/types';

// The claim reads its rows as arrays and names the columns itself: every field of a claimed task
// must be what get() (which reads the row by name) reports for the same task.
describe.each<[string, Strategy]>([
  ['fifo', fifo],
  ['weighted-random', weightedRandom()],
])('SQLite claim with %s', (_name, strategy) => {
  let dir: string;
  let store: SqliteTaskStore;
  let clock: ManualClock;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-claim-row-'));
    clock = new ManualClock(1_700_000_000_000);
    store = createSqliteTaskStore({ path: path.join(dir, 'q.db'), clock, logger: { error() {}, warn() {}, info() {}, debug() {} } });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('returns every field of the claimed task exactly as get() reads it', () => {
    const { task } = store.enqueueSync({
      type: 'report', payload: { name: 'é ✓', n: [1, 2] }, priority: 7, maxAttempts: 4, timeout: '2m',
      idempotencyKey: 'key-1', requires: { region: 'eu' }, backoff: { base: '2s', factor: 3, cap: '1m', jitter: 0 },
    });
    const request = { workerId: 'w1', limit: 5, leaseMs: 60_000, strategy, capabilities: { region: 'eu' } };
    // A first attempt that fails leaves last_error and progress behind, so those columns hold values too.
    const [first] = store.claimSync(request);
    store.reportProgressSync(task.id, first!.token, { percent: 40 });
    expect(store.failSync(task.id, first!.token, { message: 'boom' })).toBe('retry-scheduled');
    clock.advance(2_000); // the first backoff delay (2s, no jitter)
    store.reportProgressSync(task.id, first!.token, { percent: 99 }); // lost lease: ignored
    const claimed = store.claimSync(request);
    expect(claimed).toHaveLength(1);
    expect(claimed[0]!.task).toEqual(store.getSync(task.id));
    expect(claimed[0]!.token).toBe(claimed[0]!.task.leaseToken);
    expect(claimed[0]!.task).toMatchObject({
      status: 'running', attempts: 2, lastError: 'boom', progress: { percent: 40 }, leaseOwner: 'w1', payload: { name: 'é ✓', n: [1, 2] }, requires: { region: 'eu' },
      idempotencyKey: 'key-1', timeoutMs: 120_000, priority: 7, maxAttempts: 4,
    });
  });
});
