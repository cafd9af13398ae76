import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/core/clock';
import { TaskEvents } from '../../src/queue/events';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import type { ClaimRequest } from '../../src/queue/types';
import { fifo, priority } from '../../src/strategies/ordered';

const quiet = { error() {}, warn() {}, info() {}, debug() {} };

// completeAndClaim writes a batch of completions and the next claim in one transaction. It must
// store and fence exactly as completeMany followed by claim would, with and without listeners.
describe.each([
  ['without listeners', false],
  ['with completed and started listeners', true],
])('SQLite completeAndClaim %s', (_name, listening) => {
  let dir: string;
  let store: SqliteTaskStore;
  let clock: ManualClock;
  let seen: string[];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-complete-claim-'));
    clock = new ManualClock();
    const events = new TaskEvents();
    seen = [];
    if (listening) {
      events.on('completed', ({ task }) => seen.push(`completed ${task.id}`));
      events.on('started', ({ task }) => seen.push(`started ${task.id}`));
    }
    store = createSqliteTaskStore({ path: path.join(dir, 'q.db'), logger: quiet, events, clock });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const request = (limit: number, extra: Partial<ClaimRequest> = {}): ClaimRequest =>
    ({ workerId: 'w', limit, leaseMs: 60_000, strategy: fifo, ...extra });

  it('completes the batch and claims the next tasks in strategy order, in one call', () => {
    store.enqueueBatchSync([1, 2, 5, 4, 3].map((n) => ({ type: 't', payload: { n }, priority: n })));
    const first = store.claimSync(request(2));
    seen.length = 0;
    const { held, claimed } = store.completeAndClaimSync(
      first.map((c) => ({ taskId: c.task.id, token: c.token, result: c.task.id * 10 })),
      request(3, { strategy: priority }),
    );
    expect(held).toEqual([true, true]);
    for (const c of first) {
      const task = store.getSync(c.task.id)!;
      expect(task).toMatchObject({ status: 'completed', result: c.task.id * 10, leaseExpiresAt: null });
    }
    // priority order (lowest number first) among the three left, although fifo claimed the first two
    expect(claimed.map((c) => (c.task.payload as { n: number }).n)).toEqual([3, 4, 5]);
    for (const c of claimed) expect(store.getSync(c.task.id)).toMatchObject({ status: 'running', leaseOwner: 'w', leaseToken: c.token });
    if (listening) {
      expect(seen).toEqual([
        ...first.map((c) => `completed ${c.task.id}`),
        ...claimed.map((c) => `started ${c.task.id}`),
      ]);
    }
  });

  it('fences each completion: a lost lease is reported and not overwritten, the claim still happens', () => {
    store.enqueueBatchSync([{ type: 't' }, { type: 't' }, { type: 't' }]);
    const [a, b] = store.claimSync(request(2));
    clock.advance(61_000); // both leases expire
    const stolen = store.claimSync(request(1, { workerId: 'other' }));
    expect(stolen[0]!.task.id).toBe(a!.task.id);
    const { held, claimed } = store.completeAndClaimSync(
      [{ taskId: a!.task.id, token: a!.token, result: 'late' }, { taskId: b!.task.id, token: b!.token, result: 'late' }],
      request(5),
    );
    // b's lease expired too, but nobody took it yet: the fenced write by its holder of record is lost
    // as well, because the claim path took it back (attempt counted) in an earlier transaction.
    expect(held).toEqual([false, false]);
    expect(store.getSync(a!.task.id)).toMatchObject({ status: 'running', leaseOwner: 'other', result: null });
    expect(claimed.map((c) => c.task.id).sort()).toEqual([b!.task.id, 3].sort());
  });

  it('refuses the whole call on a bad result or a bad claim request, with nothing written', () => {
    store.enqueueBatchSync([{ type: 't' }, { type: 't' }, { type: 't' }]);
    const [a] = store.claimSync(request(1));
    const before = store.listSync({ limit: 10 });
    expect(() => store.completeAndClaimSync([{ taskId: a!.task.id, token: a!.token, result: () => 1 }], request(2)))
      .toThrow(/result/);
    expect(() => store.completeAndClaimSync([{ taskId: a!.task.id, token: a!.token, result: 'ok' }], request(0)))
      .toThrow(/limit/);
    expect(store.listSync({ limit: 10 })).toEqual(before);
    if (listening) expect(seen).toEqual([`started ${a!.task.id}`]);
  });

  it('with no registered types it only completes', () => {
    store.enqueueBatchSync([{ type: 't' }, { type: 't' }]);
    const [a] = store.claimSync(request(1));
    const { held, claimed } = store.completeAndClaimSync([{ taskId: a!.task.id, token: a!.token }], request(5, { types: [] }));
    expect(held).toEqual([true]);
    expect(claimed).toEqual([]);
    expect(store.countsSync().byStatus).toMatchObject({ completed: 1, queued: 1, running: 0 });
  });
});
