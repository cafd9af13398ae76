import { backoffDelayMs } from '../../src/queue/backoff';
import { SeededRandom } from '../../src/core/random';
import { fifo, lifo, priority } from '../../src/strategies/ordered';
import { weightedRandom } from '../../src/strategies/weighted-random';
import type { ClaimRequest, TaskStore } from '../../src/queue/types';
import { storeFactories, type StoreHarness } from './store-factories';

describe.each(storeFactories)('TaskStore ($name)', (factory) => {
  let h: StoreHarness;
  let store: TaskStore;
  beforeEach(() => {
    h = factory.create();
    store = h.store;
  });
  afterEach(async () => {
    await h.cleanup();
  });

  const claim = (over: Partial<ClaimRequest> = {}) =>
    store.claim({ workerId: 'w1', limit: 1, leaseMs: 1000, strategy: fifo, ...over });

  describe('enqueue', () => {
    it('stores a task with the documented defaults and returns it', async () => {
      const { task, created } = await store.enqueue({ type: 'email', payload: { to: 'a@b.c' } });
      expect(created).toBe(true);
      expect(task).toMatchObject({
        queue: 'default', type: 'email', payload: { to: 'a@b.c' }, priority: 100, status: 'queued', attempts: 0,
        maxAttempts: 3, leaseToken: 0, cancelRequested: false, lastError: null, idempotencyKey: null, requires: null, timeoutMs: null,
        backoff: { baseMs: 1000, factor: 2, capMs: 3_600_000, jitter: 0.2 },
      });
      expect(task.runAfter.getTime()).toBe(h.clock.now());
      expect(await store.get(task.id)).toEqual(task);
    });

    it('applies delay, runAt, timeout and backoff options', async () => {
      const now = h.clock.now();
      const a = (await store.enqueue({ type: 't', delay: '5s', timeout: '2m', backoff: { base: '10s', factor: 3, cap: '1m', jitter: 0 } })).task;
      expect(a.runAfter.getTime()).toBe(now + 5000);
      expect(a.timeoutMs).toBe(120_000);
      expect(a.backoff).toEqual({ baseMs: 10_000, factor: 3, capMs: 60_000, jitter: 0 });
      const b = (await store.enqueue({ type: 't', runAt: new Date(now + 7000) })).task;
      expect(b.runAfter.getTime()).toBe(now + 7000);
    });

    it('keeps queue and type names with quotes and Unicode intact', async () => {
      const queue = `q'"; DROP TABLE tasks; -- ✓`;
      const { task } = await store.enqueue({ type: "it's \"typed\" ☃", queue });
      const [c] = await claim({ queue });
      expect(c!.task.id).toBe(task.id);
      expect(c!.task.type).toBe("it's \"typed\" ☃");
    });

    it('writes a batch all or nothing', async () => {
      const ok = await store.enqueueBatch([{ type: 'a' }, { type: 'b', priority: 5 }]);
      expect(ok.map((r) => r.task.type)).toEqual(['a', 'b']);
      await expect(store.enqueueBatch([{ type: 'c' }, { type: 'd', priority: -1 }])).rejects.toMatchObject({ code: 'TASKBRIDGE_INVALID_OPTION' });
      expect((await store.counts()).total).toBe(2);
    });

    it('returns the existing task for a known idempotency key, per queue', async () => {
      const first = await store.enqueue({ type: 't', payload: 1, idempotencyKey: 'k' });
      const again = await store.enqueue({ type: 't', payload: 2, idempotencyKey: 'k' });
      expect(again.created).toBe(false);
      expect(again.task).toEqual(first.task);
      const other = await store.enqueue({ type: 't', queue: 'other', idempotencyKey: 'k' });
      expect(other.created).toBe(true);
      expect((await store.getByIdempotencyKey('default', 'k'))!.id).toBe(first.task.id);
      const batch = await store.enqueueBatch([{ type: 't', idempotencyKey: 'x' }, { type: 't', idempotencyKey: 'x' }]);
      expect(batch.map((r) => r.created)).toEqual([true, false]);
      expect(batch[1]!.task.id).toBe(batch[0]!.task.id);
    });

    it('rejects the promise instead of throwing synchronously', () => {
      const p = store.enqueue({ type: '' });
      expect(p).toBeInstanceOf(Promise);
      return expect(p).rejects.toMatchObject({ code: 'TASKBRIDGE_INVALID_OPTION', field: 'type' });
    });
  });

  describe('claim', () => {
    it('leases tasks in FIFO order with a fencing token and counts the attempt', async () => {
      const ids = (await store.enqueueBatch([{ type: 'a' }, { type: 'b' }, { type: 'c' }])).map((r) => r.task.id);
      const claimed = await claim({ limit: 2 });
      expect(claimed.map((c) => c.task.id)).toEqual(ids.slice(0, 2));
      for (const c of claimed) {
        expect(c.task).toMatchObject({ status: 'running', attempts: 1, leaseOwner: 'w1', leaseToken: 1 });
        expect(c.token).toBe(1);
        expect(c.task.leaseExpiresAt!.getTime()).toBe(h.clock.now() + 1000);
      }
      expect((await claim({ limit: 5 })).map((c) => c.task.id)).toEqual([ids[2]]);
      expect(await claim()).toEqual([]);
    });

    it('does not claim delayed tasks before their time', async () => {
      await store.enqueue({ type: 't', delay: '10s' });
      expect(await claim()).toEqual([]);
      h.clock.advance(10_000);
      expect(await claim()).toHaveLength(1);
    });

    it('follows LIFO and priority orders', async () => {
      const a = (await store.enqueue({ type: 't', priority: 50 })).task.id;
      h.clock.advance(1);
      const b = (await store.enqueue({ type: 't', priority: 10 })).task.id;
      h.clock.advance(1);
      const c = (await store.enqueue({ type: 't', priority: 50 })).task.id;
      expect((await claim({ strategy: lifo, limit: 1 }))[0]!.task.id).toBe(c);
      expect((await claim({ strategy: priority, limit: 2 })).map((x) => x.task.id)).toEqual([b, a]);
    });

    it('draws priority levels for weighted random and eventually claims everything', async () => {
      await store.enqueueBatch([0, 0, 5, 5, 100, 1000].map((p) => ({ type: 't', priority: p })));
      const claimed = await claim({ strategy: weightedRandom(), limit: 10 });
      expect(claimed.map((c) => c.task.priority).sort((x, y) => x - y)).toEqual([0, 0, 5, 5, 100, 1000]);
      expect(await claim({ strategy: weightedRandom() })).toEqual([]);
    });

    it('skips a drawn level whose tasks are not ready yet', async () => {
      await store.enqueue({ type: 't', priority: 0, delay: '1h' });
      const ready = (await store.enqueue({ type: 't', priority: 900 })).task.id;
      const claimed = await claim({ strategy: weightedRandom() });
      expect(claimed.map((c) => c.task.id)).toEqual([ready]);
    });

    it('only gives a worker the types it asks for', async () => {
      await store.enqueueBatch([{ type: 'a' }, { type: 'b' }, { type: 'c' }]);
      const got = await claim({ types: ['c', 'b'], limit: 5 });
      expect(got.map((g) => g.task.type).sort()).toEqual(['b', 'c']);
      expect(await claim({ types: [] })).toEqual([]);
    });

    it('matches capabilities: requires must be a subset of what the worker offers', async () => {
      const us = (await store.enqueue({ type: 't', requires: { region: 'us' } })).task.id;
      const usGpu = (await store.enqueue({ type: 't', requires: { region: 'us', gpu: 'yes' } })).task.id;
      const eu = (await store.enqueue({ type: 't', requires: { region: 'eu' } })).task.id;
      const any = (await store.enqueue({ type: 't' })).task.id;
      expect((await claim({ limit: 10 })).map((c) => c.task.id)).toEqual([any]);
      expect((await claim({ limit: 10, capabilities: { region: 'us', zone: 'a' } })).map((c) => c.task.id)).toEqual([us]);
      expect((await claim({ limit: 10, capabilities: { region: 'us', gpu: 'yes' } })).map((c) => c.task.id)).toEqual([usGpu]);
      expect((await claim({ limit: 10, capabilities: { region: 'eu' } })).map((c) => c.task.id)).toEqual([eu]);
    });

    it('claims pinned types only from tasks whose requirements it satisfies, leaving their open tasks to others', async () => {
      const open = (await store.enqueue({ type: 'm' })).task.id;
      const mine = (await store.enqueue({ type: 'm', requires: { owner: 'a' } })).task.id;
      await store.enqueue({ type: 'm', requires: { owner: 'b' } });
      const other = (await store.enqueue({ type: 'n' })).task.id;
      const pinnedClaim = { limit: 10, types: ['m', 'n'], pinnedTypes: ['m'], capabilities: { owner: 'a' } };
      expect((await claim(pinnedClaim)).map((c) => c.task.id)).toEqual([mine, other]);
      expect(await claim(pinnedClaim)).toEqual([]);
      // A worker with the type's handler still takes the open task.
      expect((await claim({ limit: 10, types: ['m'] })).map((c) => c.task.id)).toEqual([open]);
      await expect(claim({ pinnedTypes: 'm' as never })).rejects.toMatchObject({ code: 'TASKBRIDGE_INVALID_OPTION', field: 'pinnedTypes' });
      await expect(claim({ pinnedTypes: [''] })).rejects.toMatchObject({ code: 'TASKBRIDGE_INVALID_OPTION', field: 'pinnedTypes[0]' });
    });

    it('refuses a strategy whose order is not built from the known keys', async () => {
      await expect(
        claim({ strategy: { kind: 'ordered', name: 'evil', order: [{ field: 'id; DROP TABLE tasks' as never, direction: 'asc' }] } }),
      ).rejects.toMatchObject({ code: 'TASKBRIDGE_INVALID_OPTION' });
    });
  });

  describe('leases and fencing', () => {
    it('takes back an expired lease on the next claim, counting the attempt', async () => {
      const id = (await store.enqueue({ type: 't' })).task.id;
      const [first] = await claim({ workerId: 'w1' });
      h.clock.advance(1000);
      const [second] = await claim({ workerId: 'w2' });
      expect(second!.task).toMatchObject({ id, attempts: 2, leaseOwner: 'w2', leaseToken: 2 });
      expect(second!.token).not.toBe(first!.token);
    });

    it('takes back an expired lease on a claim for no types', async () => {
      const id = (await store.enqueue({ type: 't' })).task.id;
      await claim({ workerId: 'w1' });
      h.clock.advance(1000);
      expect(await claim({ workerId: 'w2', types: [] })).toEqual([]);
      expect(await store.get(id)).toMatchObject({ status: 'queued', attempts: 1, leaseOwner: null, leaseExpiresAt: null });
    });

    it('a worker that lost its lease cannot complete, fail, heartbeat or report progress', async () => {
      const id = (await store.enqueue({ type: 't' })).task.id;
      const [old] = await claim({ workerId: 'w1' });
      h.clock.advance(1001);
      const [fresh] = await claim({ workerId: 'w2' });
      expect(await store.complete(id, old!.token, 'stale')).toBe(false);
      expect(await store.fail(id, old!.token, { message: 'stale' })).toBe('lost');
      expect(await store.heartbeat(id, old!.token, 1000)).toBe('lost');
      expect(await store.reportProgress(id, old!.token, { percent: 1 })).toBe(false);
      expect(await store.release(id, old!.token)).toBe(false);
      expect(await store.complete(id, fresh!.token, { ok: true })).toBe(true);
      // The attempt lost to the expired lease stays as history, like a thrown one (README, Choices).
      expect(await store.get(id)).toMatchObject({ status: 'completed', result: { ok: true }, lastError: 'lease expired on attempt 1 of 3 (worker w1)' });
    });

    it('lets a holder whose lease expired but was not taken back still complete', async () => {
      const id = (await store.enqueue({ type: 't' })).task.id;
      const [c] = await claim();
      h.clock.advance(5000);
      expect(await store.complete(id, c!.token)).toBe(true);
    });

    it('heartbeats extend the lease so the task is not taken back', async () => {
      const id = (await store.enqueue({ type: 't' })).task.id;
      const [c] = await claim();
      h.clock.advance(900);
      expect(await store.heartbeat(id, c!.token, 1000)).toBe('extended');
      h.clock.advance(900);
      expect(await claim({ workerId: 'w2' })).toEqual([]);
      expect((await store.get(id))!.leaseExpiresAt!.getTime()).toBe(h.clock.now() + 100);
    });

    it('marks a task dead when the lease of its last attempt expires', async () => {
      const id = (await store.enqueue({ type: 't', maxAttempts: 1 })).task.id;
      const dead: number[] = [];
      h.events.on('dead', (e) => dead.push(e.task.id));
      await claim();
      h.clock.advance(1000);
      expect(await claim()).toEqual([]);
      const t = await store.get(id);
      expect(t).toMatchObject({ status: 'failed', attempts: 1 });
      expect(t!.lastError).toMatch(/lease expired/);
      expect(dead).toEqual([id]);
    });

    it('announces an expired lease with attempts left as a failed attempt, then retried', async () => {
      const id = (await store.enqueue({ type: 't', maxAttempts: 3 })).task.id;
      const seen: unknown[] = [];
      h.events.on('failed', (e) => seen.push(['failed', e.task.id, e.willRetry, e.error]));
      h.events.on('retried', (e) => seen.push(['retried', e.task.id]));
      await claim();
      h.clock.advance(1000);
      const [again] = await claim({ workerId: 'w2' });
      expect(again!.task.id).toBe(id);
      expect(seen).toEqual([['failed', id, true, 'lease expired on attempt 1 of 3 (worker w1)'], ['retried', id]]);
    });

    it('release hands the task back without counting the attempt', async () => {
      const id = (await store.enqueue({ type: 't' })).task.id;
      const [c] = await claim();
      expect(await store.release(id, c!.token)).toBe(true);
      expect(await store.get(id)).toMatchObject({ status: 'queued', attempts: 0, leaseOwner: null, leaseExpiresAt: null });
      expect((await claim())[0]!.task.attempts).toBe(1);
    });

    it('completeMany completes a batch in one call, fenced per task', async () => {
      const batching = store as TaskStore & { completeMany?: (items: { taskId: number; token: number; result?: unknown }[]) => Promise<boolean[]> };
      if (typeof batching.completeMany !== 'function') return;
      await store.enqueueBatch([{ type: 't' }, { type: 't' }, { type: 't' }]);
      const claimed = await claim({ limit: 3 });
      const items = claimed.map((c, i) => ({ taskId: c.task.id, token: i === 1 ? c.token + 5 : c.token, result: { i } }));
      expect(await batching.completeMany(items)).toEqual([true, false, true]);
      expect((await store.get(claimed[0]!.task.id))!).toMatchObject({ status: 'completed', result: { i: 0 } });
      expect((await store.get(claimed[1]!.task.id))!.status).toBe('running');
      const bad = [{ taskId: claimed[1]!.task.id, token: claimed[1]!.token, result: () => 1 }];
      await expect(batching.completeMany(bad)).rejects.toMatchObject({ code: 'TASKBRIDGE_INVALID_INPUT' });
      expect((await store.get(claimed[1]!.task.id))!.status).toBe('running');
    });

    it('stores progress while the lease holds', async () => {
      const id = (await store.enqueue({ type: 't' })).task.id;
      const [c] = await claim();
      const seen: unknown[] = [];
      h.events.on('progress', (e) => seen.push(e.progress));
      expect(await store.reportProgress(id, c!.token, { percent: 50, itemsProcessed: 5, itemsTotal: 10 })).toBe(true);
      expect((await store.get(id))!.progress).toEqual({ percent: 50, itemsProcessed: 5, itemsTotal: 10 });
      expect(seen).toHaveLength(1);
    });
  });

  describe('failures and retries', () => {
    it('schedules retries with exponential backoff and dies after maxAttempts', async () => {
      const id = (await store.enqueue({ type: 't', maxAttempts: 3, backoff: { base: '1s', factor: 2, jitter: 0 } })).task.id;
      const start = h.clock.now();
      let [c] = await claim();
      expect(await store.fail(id, c!.token, { message: 'boom 1' })).toBe('retry-scheduled');
      expect(await store.get(id)).toMatchObject({ status: 'queued', attempts: 1, lastError: 'boom 1', runAfter: new Date(start + 1000) });
      h.clock.advance(999);
      expect(await claim()).toEqual([]);
      h.clock.advance(1);
      [c] = await claim();
      expect(await store.fail(id, c!.token, { message: 'boom 2' })).toBe('retry-scheduled');
      expect((await store.get(id))!.runAfter.getTime()).toBe(h.clock.now() + 2000);
      h.clock.advance(2000);
      [c] = await claim();
      expect(c!.task.attempts).toBe(3);
      expect(await store.fail(id, c!.token, { message: 'boom 3' })).toBe('dead');
      const dead = await store.get(id);
      expect(dead).toMatchObject({ status: 'failed', attempts: 3, lastError: 'boom 3' });
      expect(dead!.finishedAt!.getTime()).toBe(h.clock.now());
    });

    it('draws jitter from the injected random source', async () => {
      const backoff = { baseMs: 4000, factor: 2, capMs: 3_600_000, jitter: 0.5 };
      const id = (await store.enqueue({ type: 't', backoff: { base: 4000, jitter: 0.5 } })).task.id;
      const [c] = await claim();
      await store.fail(id, c!.token, { message: 'x' });
      const expected = backoffDelayMs(1, backoff, new SeededRandom(42));
      expect(expected).toBeGreaterThanOrEqual(2000);
      expect(expected).toBeLessThanOrEqual(4000);
      expect((await store.get(id))!.runAfter.getTime()).toBe(h.clock.now() + expected);
    });

    it('caps the backoff delay', () => {
      const b = { baseMs: 1000, factor: 10, capMs: 5000, jitter: 0 };
      expect([1, 2, 3, 50, 5000].map((a) => backoffDelayMs(a, b, new SeededRandom(1)))).toEqual([1000, 5000, 5000, 5000, 5000]);
    });

    it('a non-retryable error skips the remaining attempts', async () => {
      const id = (await store.enqueue({ type: 't', maxAttempts: 5 })).task.id;
      const [c] = await claim();
      expect(await store.fail(id, c!.token, { message: 'bad input', retryable: false })).toBe('dead');
      expect(await store.get(id)).toMatchObject({ status: 'failed', attempts: 1, lastError: 'bad input' });
    });

    it('retry() requeues a dead task with a fresh budget and refuses live ones', async () => {
      const id = (await store.enqueue({ type: 't', maxAttempts: 1 })).task.id;
      const [c] = await claim();
      await store.fail(id, c!.token, { message: 'x' });
      const again = await store.retry(id);
      expect(again).toMatchObject({ status: 'queued', attempts: 0, lastError: null, finishedAt: null });
      await expect(store.retry(id)).rejects.toMatchObject({ code: 'TASKBRIDGE_INVALID_STATE' });
      await expect(store.retry(999_999)).rejects.toMatchObject({ code: 'TASKBRIDGE_TASK_NOT_FOUND' });
      expect((await claim())[0]!.task.id).toBe(id);
    });
  });

  describe('cancel', () => {
    it('cancels a queued task at once; it is never claimed', async () => {
      const id = (await store.enqueue({ type: 't' })).task.id;
      expect(await store.cancel(id)).toBe('cancelled');
      expect(await store.get(id)).toMatchObject({ status: 'cancelled' });
      expect(await claim()).toEqual([]);
      expect(await store.cancel(id)).toBe('already-finished');
      expect(await store.cancel(424242)).toBe('not-found');
    });

    it('asks a running task to stop: the heartbeat reports it and the worker acknowledges', async () => {
      const id = (await store.enqueue({ type: 't' })).task.id;
      const [c] = await claim();
      expect(await store.acknowledgeCancel(id, c!.token)).toBe(false);
      expect(await store.cancel(id)).toBe('cancel-requested');
      expect(await store.heartbeat(id, c!.token, 1000)).toBe('cancel-requested');
      expect(await store.acknowledgeCancel(id, c!.token)).toBe(true);
      expect(await store.get(id)).toMatchObject({ status: 'cancelled', cancelRequested: true });
      const again = await store.retry(id);
      expect(again).toMatchObject({ status: 'queued', cancelRequested: false });
    });

    it('a cancel requested on a running task wins over a release or a failed attempt', async () => {
      const a = (await store.enqueue({ type: 't' })).task.id;
      const b = (await store.enqueue({ type: 't' })).task.id;
      const [ca, cb] = await claim({ limit: 2 });
      await store.cancel(a);
      await store.cancel(b);
      expect(await store.release(a, ca!.token)).toBe(true);
      expect(await store.fail(b, cb!.token, { message: 'aborted' })).toBe('dead');
      expect((await store.get(a))!.status).toBe('cancelled');
      expect(await store.get(b)).toMatchObject({ status: 'cancelled', lastError: 'aborted' });
      expect(await claim()).toEqual([]);
    });

    it('a cancel requested on a running task wins over its lease expiry', async () => {
      const id = (await store.enqueue({ type: 't' })).task.id;
      await claim();
      await store.cancel(id);
      h.clock.advance(1000);
      expect(await claim()).toEqual([]);
      expect((await store.get(id))!.status).toBe('cancelled');
    });
  });

  describe('queries', () => {
    it('lists with filters and paging, and counts by status, type and queue', async () => {
      await store.enqueueBatch([{ type: 'a' }, { type: 'a' }, { type: 'b' }, { type: 'b', queue: 'q2' }]);
      const [c] = await claim();
      await store.complete(c!.task.id, c!.token);
      expect((await store.list()).map((t) => t.id)).toEqual([4, 3, 2, 1]);
      expect((await store.list({ order: 'asc', limit: 2, offset: 1 })).map((t) => t.id)).toEqual([2, 3]);
      expect((await store.list({ status: 'completed' })).map((t) => t.id)).toEqual([1]);
      expect((await store.list({ status: ['queued', 'completed'], type: 'a' })).map((t) => t.id)).toEqual([2, 1]);
      expect((await store.list({ queue: 'q2' })).map((t) => t.id)).toEqual([4]);
      const counts = await store.counts();
      expect(counts.total).toBe(4);
      expect(counts.byStatus).toEqual({ queued: 3, running: 0, completed: 1, failed: 0, cancelled: 0 });
      expect(counts.byType.a).toMatchObject({ queued: 1, completed: 1 });
      expect(counts.byQueue.q2).toMatchObject({ queued: 1 });
    });

    it('counts types and queues named like Object members as their own entries', async () => {
      await store.enqueueBatch([{ type: '__proto__' }, { type: 'constructor', queue: 'hasOwnProperty' }, { type: 'toString', queue: '__proto__' }]);
      const counts = await store.counts();
      expect(Object.keys(counts.byType).sort()).toEqual(['__proto__', 'constructor', 'toString']);
      expect(Object.keys(counts.byQueue).sort()).toEqual(['__proto__', 'default', 'hasOwnProperty']);
      expect(counts.byType['__proto__']).toMatchObject({ queued: 1 });
      expect(counts.byType['constructor']).toMatchObject({ queued: 1 });
      expect(counts.byQueue['hasOwnProperty']).toMatchObject({ queued: 1 });
      expect(counts.byQueue['__proto__']).toMatchObject({ queued: 1 });
      expect(({} as Record<string, unknown>).queued).toBeUndefined();
    });

    it('registers, touches, lists and unregisters workers', async () => {
      const info = { workerId: 'w1', pid: 123, hostname: 'h', queue: 'default', concurrency: 4, strategy: 'fifo', capabilities: { region: 'us' } };
      await store.registerWorker(info);
      h.clock.advance(5000);
      await store.touchWorker('w1');
      const [w] = await store.listWorkers();
      expect(w).toMatchObject({ ...info });
      expect(w!.lastSeenAt.getTime() - w!.startedAt.getTime()).toBe(5000);
      await store.unregisterWorker('w1');
      expect(await store.listWorkers()).toEqual([]);
    });
  });

  describe('events', () => {
    it('announces each state change after it is written', async () => {
      const seen: string[] = [];
      for (const name of ['enqueued', 'started', 'completed', 'failed', 'retried', 'dead', 'cancelled'] as const) {
        h.events.on(name, () => seen.push(name));
      }
      const a = (await store.enqueue({ type: 't', maxAttempts: 2, backoff: { jitter: 0 } })).task.id;
      let [c] = await claim();
      await store.fail(a, c!.token, { message: 'x' });
      h.clock.advance(1000);
      [c] = await claim();
      await store.fail(a, c!.token, { message: 'y' });
      const b = (await store.enqueue({ type: 't' })).task.id;
      [c] = await claim();
      await store.complete(b, c!.token);
      await store.cancel((await store.enqueue({ type: 't' })).task.id);
      expect(seen).toEqual([
        'enqueued', 'started', 'failed', 'retried', 'started', 'failed', 'dead', 'enqueued', 'started', 'completed', 'enqueued', 'cancelled',
      ]);
    });
  });

  it('sees writes made through another connection to the same database', async () => {
    const other = h.reopen();
    const id = (await other.enqueue({ type: 't' })).task.id;
    const [c] = await claim();
    expect(c!.task.id).toBe(id);
    expect(await other.complete(id, c!.token)).toBe(true);
  });
});
