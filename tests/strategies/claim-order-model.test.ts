import fc from 'fast-check';
import { storeFactories } from '../queue/store-factories';
import { fifo, lifo, priority, type OrderedStrategy, type SortKey } from '../../src/strategies';

/** What the model keeps of a task: enough to say which ready task each ordered strategy claims. */
interface ModelTask {
  id: number;
  queue: string;
  priority: number;
  runAfter: number;
  requires: string | null;
  status: 'queued' | 'running' | 'done';
  token: number;
}

const key = (field: SortKey['field'], direction: SortKey['direction']): SortKey => ({ field, direction });
/** The built-ins, and custom orders a StrategyFactory.register caller might write (mixed directions, no index). */
const STRATEGIES: Record<string, OrderedStrategy> = {
  fifo, lifo, priority,
  'newest-urgent': { kind: 'ordered', name: 'newest-urgent', order: [key('priority', 'asc'), key('seq', 'desc')] },
  'least-urgent': { kind: 'ordered', name: 'least-urgent', order: [key('priority', 'desc'), key('readyAt', 'asc'), key('seq', 'asc')] },
  'insertion': { kind: 'ordered', name: 'insertion', order: [key('seq', 'asc')] },
};
const QUEUES = ['default', 'reports'];
const REGIONS = ['us', 'eu'];

type Op =
  | { op: 'enqueue'; queue: number; priority: number; at: number; region: number | null }
  | { op: 'claim'; strategy: string; queue: number; region: number | null; limit: number }
  | { op: 'settle'; pick: number; how: 'complete' | 'release' | 'fail' }
  | { op: 'advance'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({
    op: fc.constant('enqueue' as const), queue: fc.nat(1), priority: fc.constantFrom(0, 1, 5, 100),
    // negative: runAt in the past, so ready before tasks enqueued earlier; 0 ties on purpose.
    at: fc.constantFrom(-50, 0, 0, 0, 30, 200), region: fc.option(fc.nat(1), { nil: null, freq: 3 }),
  }) },
  { weight: 3, arbitrary: fc.record({
    op: fc.constant('claim' as const), strategy: fc.constantFrom(...Object.keys(STRATEGIES)), queue: fc.nat(1),
    region: fc.option(fc.nat(1), { nil: null }), limit: fc.constantFrom(1, 1, 3),
  }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('settle' as const), pick: fc.nat(), how: fc.constantFrom('complete' as const, 'release' as const, 'fail' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(0, 10, 100, 1_000) }) },
);

function expectedClaims(model: ModelTask[], keys: readonly SortKey[], queue: string, region: string | null, now: number, limit: number): number[] {
  const col = (t: ModelTask, f: SortKey['field']): number => (f === 'priority' ? t.priority : f === 'readyAt' ? t.runAfter : t.id);
  return model
    .filter((t) => t.status === 'queued' && t.queue === queue && t.runAfter <= now && (t.requires === null || t.requires === region))
    .sort((a, b) => {
      for (const k of keys) {
        const d = col(a, k.field) - col(b, k.field);
        if (d !== 0) return k.direction === 'asc' ? d : -d;
      }
      return 0;
    })
    .slice(0, limit)
    .map((t) => t.id);
}

describe.each(storeFactories)('ordered strategies against a model on the $name store', (factory) => {
  // Each run: a random history of enqueues (past, present, future run-after; ties; requirements;
  // two queues), claims by every ordered strategy, completions, releases (the task keeps its
  // place), failures (it becomes ready again after its backoff) and expired leases taken back.
  it('claim exactly the ready tasks the documented order names, in that order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 60 }), async (ops) => {
        const h = factory.create({ seed: 3 });
        try {
          const model: ModelTask[] = [];
          for (const o of ops) {
            const now = h.clock.now();
            if (o.op === 'enqueue') {
              const region = o.region === null ? null : REGIONS[o.region]!;
              const { task } = await h.store.enqueue({
                type: 't', queue: QUEUES[o.queue], priority: o.priority, runAt: now + o.at, maxAttempts: 5,
                ...(region === null ? {} : { requires: { region } }),
              });
              model.push({ id: task.id, queue: QUEUES[o.queue]!, priority: o.priority, runAfter: now + o.at, requires: region, status: 'queued', token: 0 });
            } else if (o.op === 'claim') {
              const region = o.region === null ? null : REGIONS[o.region]!;
              const strategy = STRATEGIES[o.strategy]!;
              const want = expectedClaims(model, strategy.order, QUEUES[o.queue]!, region, now, o.limit);
              const got = await h.store.claim({
                workerId: 'w', queue: QUEUES[o.queue], limit: o.limit, leaseMs: 500, strategy,
                ...(region === null ? {} : { capabilities: { region } }),
              });
              expect(got.map((c) => c.task.id)).toEqual(want);
              for (const c of got) Object.assign(model.find((t) => t.id === c.task.id)!, { status: 'running', token: c.token });
            } else if (o.op === 'settle') {
              const running = model.filter((t) => t.status === 'running');
              if (running.length === 0) continue;
              const t = running[o.pick % running.length]!;
              if (o.how === 'complete') {
                expect(await h.store.complete(t.id, t.token)).toBe(true);
                t.status = 'done';
              } else if (o.how === 'release') {
                expect(await h.store.release(t.id, t.token)).toBe(true);
                t.status = 'queued';
              } else {
                const outcome = await h.store.fail(t.id, t.token, { message: 'x' });
                const row = (await h.store.get(t.id))!;
                t.status = outcome === 'retry-scheduled' ? 'queued' : 'done';
                expect(row.runAfter.getTime()).toBeGreaterThan(now);
                t.runAfter = row.runAfter.getTime();
              }
            } else {
              h.clock.advance(o.ms);
              // Leases are 500 ms: the next claim takes back the expired ones, which keep their run-after.
              const expiry = h.clock.now();
              for (const t of model) {
                if (t.status !== 'running') continue;
                const row = (await h.store.get(t.id))!;
                if (row.leaseExpiresAt!.getTime() <= expiry) t.status = row.attempts >= row.maxAttempts ? 'done' : 'queued';
              }
            }
          }
        } finally {
          await h.cleanup();
        }
      }),
      { seed: 20240611, numRuns: 100 },
    );
  });
});
