import * as fc from 'fast-check';
import { ManualClock } from '../../src/core/clock';
import { InvalidTaskStateError, TaskNotFoundError } from '../../src/core/errors';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import { fifo } from '../../src/strategies';
import { SILENT, report } from './harness';

/**
 * Model check: random sequences of store operations run against the SQLite store and against a
 * small reference model of the documented semantics; the whole table is compared after every step.
 */

type Status = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
interface MTask { id: number; status: Status; attempts: number; maxAttempts: number; runAfter: number; leaseExpiresAt: number | null; token: number; cancelRequested: boolean }
interface Model { now: number; tasks: MTask[]; handed: { id: number; token: number }[]; steps: number }
interface Real { store: SqliteTaskStore; clock: ManualClock }

const BASE_MS = 1000;
const CAP_MS = 60_000;
let totalSteps = 0;

function compare(m: Model, r: Real): void {
  m.steps++;
  totalSteps++;
  const actual = r.store.listSync({ limit: 10_000, order: 'asc' }).map((t) => ({
    id: t.id, status: t.status, attempts: t.attempts, maxAttempts: t.maxAttempts, runAfter: t.runAfter.getTime(),
    leaseExpiresAt: t.status === 'running' ? t.leaseExpiresAt?.getTime() ?? null : null, token: t.leaseToken, cancelRequested: t.cancelRequested,
  }));
  const expected = m.tasks.map((t) => ({ ...t, leaseExpiresAt: t.status === 'running' ? t.leaseExpiresAt : null }));
  expect(actual).toEqual(expected);
}

function fenced(m: Model, id: number, token: number): MTask | undefined {
  const t = m.tasks.find((x) => x.id === id);
  return t !== undefined && t.status === 'running' && t.token === token ? t : undefined;
}

function pick(m: Model, k: number): { id: number; token: number } {
  return m.handed.length === 0 ? { id: 1, token: 0 } : m.handed[k % m.handed.length]!;
}

const cmd = <A>(name: string, args: A, run: (m: Model, r: Real) => void): fc.Command<Model, Real> => ({
  check: () => true,
  run(m, r) {
    run(m, r);
    compare(m, r);
  },
  toString: () => `${name}(${JSON.stringify(args)})`,
});

const enqueue = fc.record({ delayMs: fc.constantFrom(0, 1000, 60_000), maxAttempts: fc.integer({ min: 1, max: 3 }) }).map((a) =>
  cmd('enqueue', a, (m, r) => {
    const { task } = r.store.enqueueSync({ type: 'work', delay: a.delayMs, maxAttempts: a.maxAttempts, backoff: { base: BASE_MS, factor: 2, cap: CAP_MS, jitter: 0 } });
    m.tasks.push({ id: task.id, status: 'queued', attempts: 0, maxAttempts: a.maxAttempts, runAfter: m.now + a.delayMs, leaseExpiresAt: null, token: 0, cancelRequested: false });
  }));

const claim = fc.record({ limit: fc.integer({ min: 1, max: 3 }), leaseMs: fc.constantFrom(1000, 30_000) }).map((a) =>
  cmd('claim', a, (m, r) => {
    const got = r.store.claimSync({ workerId: 'w', limit: a.limit, leaseMs: a.leaseMs, strategy: fifo });
    for (const t of m.tasks) {
      if (t.status !== 'running' || t.leaseExpiresAt! > m.now) continue;
      // Expired lease taken back: the attempt was counted at claim.
      t.status = t.cancelRequested ? 'cancelled' : t.attempts >= t.maxAttempts ? 'failed' : 'queued';
      t.leaseExpiresAt = null;
    }
    const ready = m.tasks.filter((t) => t.status === 'queued' && t.runAfter <= m.now)
      .sort((x, y) => x.runAfter - y.runAfter || x.id - y.id).slice(0, a.limit);
    for (const t of ready) {
      t.status = 'running';
      t.attempts++;
      t.token++;
      t.leaseExpiresAt = m.now + a.leaseMs;
      m.handed.push({ id: t.id, token: t.token });
    }
    expect(got.map((c) => [c.task.id, c.token])).toEqual(ready.map((t) => [t.id, t.token]));
  }));

const heartbeat = fc.record({ k: fc.nat(), leaseMs: fc.constantFrom(1000, 30_000) }).map((a) =>
  cmd('heartbeat', a, (m, r) => {
    const h = pick(m, a.k);
    const t = fenced(m, h.id, h.token);
    let expected = 'lost';
    if (t !== undefined) {
      t.leaseExpiresAt = Math.max(t.leaseExpiresAt ?? 0, m.now + a.leaseMs);
      expected = t.cancelRequested ? 'cancel-requested' : 'extended';
    }
    expect(r.store.heartbeatSync(h.id, h.token, a.leaseMs)).toBe(expected);
  }));

const complete = fc.record({ k: fc.nat() }).map((a) =>
  cmd('complete', a, (m, r) => {
    const h = pick(m, a.k);
    const t = fenced(m, h.id, h.token);
    if (t !== undefined) {
      t.status = 'completed';
      t.leaseExpiresAt = null;
    }
    expect(r.store.completeSync(h.id, h.token, { ok: true })).toBe(t !== undefined);
  }));

const fail = fc.record({ k: fc.nat(), retryable: fc.boolean() }).map((a) =>
  cmd('fail', a, (m, r) => {
    const h = pick(m, a.k);
    const t = fenced(m, h.id, h.token);
    let expected = 'lost';
    if (t !== undefined) {
      t.leaseExpiresAt = null;
      if (a.retryable && !t.cancelRequested && t.attempts < t.maxAttempts) {
        t.status = 'queued';
        t.runAfter = m.now + Math.min(CAP_MS, BASE_MS * 2 ** (t.attempts - 1));
        expected = 'retry-scheduled';
      } else {
        t.status = t.cancelRequested ? 'cancelled' : 'failed';
        expected = 'dead';
      }
    }
    expect(r.store.failSync(h.id, h.token, { message: 'boom', retryable: a.retryable })).toBe(expected);
  }));

const release = fc.record({ k: fc.nat() }).map((a) =>
  cmd('release', a, (m, r) => {
    const h = pick(m, a.k);
    const t = fenced(m, h.id, h.token);
    if (t !== undefined) {
      t.status = t.cancelRequested ? 'cancelled' : 'queued';
      t.attempts--;
      t.leaseExpiresAt = null;
    }
    expect(r.store.releaseSync(h.id, h.token)).toBe(t !== undefined);
  }));

const acknowledgeCancel = fc.record({ k: fc.nat() }).map((a) =>
  cmd('acknowledgeCancel', a, (m, r) => {
    const h = pick(m, a.k);
    const t = fenced(m, h.id, h.token);
    const ok = t !== undefined && t.cancelRequested;
    if (ok) {
      t!.status = 'cancelled';
      t!.leaseExpiresAt = null;
    }
    expect(r.store.acknowledgeCancelSync(h.id, h.token)).toBe(ok);
  }));

const cancel = fc.record({ id: fc.integer({ min: 1, max: 12 }) }).map((a) =>
  cmd('cancel', a, (m, r) => {
    const t = m.tasks.find((x) => x.id === a.id);
    let expected = 'not-found';
    if (t?.status === 'queued') {
      t.status = 'cancelled';
      expected = 'cancelled';
    } else if (t?.status === 'running') {
      t.cancelRequested = true;
      expected = 'cancel-requested';
    } else if (t !== undefined) {
      expected = 'already-finished';
    }
    expect(r.store.cancelSync(a.id)).toBe(expected);
  }));

const retry = fc.record({ id: fc.integer({ min: 1, max: 12 }) }).map((a) =>
  cmd('retry', a, (m, r) => {
    const t = m.tasks.find((x) => x.id === a.id);
    let thrown: unknown;
    try {
      r.store.retrySync(a.id);
    } catch (err) {
      thrown = err;
    }
    if (t === undefined) expect(thrown).toBeInstanceOf(TaskNotFoundError);
    else if (t.status !== 'failed' && t.status !== 'cancelled') expect(thrown).toBeInstanceOf(InvalidTaskStateError);
    else {
      expect(thrown).toBeUndefined();
      Object.assign(t, { status: 'queued', attempts: 0, cancelRequested: false, runAfter: m.now, leaseExpiresAt: null });
    }
  }));

const moveClock = fc.integer({ min: -120_000, max: 120_000 }).map((ms) =>
  cmd('clock', ms, (m, r) => {
    m.now += ms;
    r.clock.advance(ms);
  }));

// Lease expiry: jump to just past the latest lease, so the next claim takes every lease back.
const expireLeases = fc.constant(null).map(() =>
  cmd('expireLeases', null, (m, r) => {
    const latest = Math.max(m.now, ...m.tasks.filter((t) => t.status === 'running').map((t) => t.leaseExpiresAt!));
    m.now = latest;
    r.clock.set(latest);
  }));

describe('model check: the store against a reference model', () => {
  afterAll(() => report('model check', { steps: totalSteps }));

  it('agrees with the model after every step of random operation sequences', () => {
    const commands = fc.commands([enqueue, enqueue, claim, claim, heartbeat, complete, fail, release, acknowledgeCancel, cancel, retry, moveClock, expireLeases], { maxCommands: 60, size: 'medium' });
    fc.assert(
      fc.property(commands, (cmds) => {
        const clock = new ManualClock(Date.UTC(2026, 0, 1));
        const store = createSqliteTaskStore({ path: ':memory:', clock, logger: SILENT });
        try {
          fc.modelRun(() => ({ model: { now: clock.now(), tasks: [], handed: [], steps: 0 }, real: { store, clock } }), cmds);
        } finally {
          store.closeSync();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('would catch a disagreement: a model that lets a task complete on its own fails the comparison', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = createSqliteTaskStore({ path: ':memory:', clock, logger: SILENT });
    const m: Model = { now: clock.now(), tasks: [], handed: [], steps: 0 };
    const real = { store, clock };
    try {
      fc.sample(enqueue, 1)[0]!.run(m, real);
      const claimCmd = fc.sample(claim, 1)[0]!;
      claimCmd.run(m, real);
      // Break the model on purpose: a stale token "completes" in the model only.
      m.tasks[0]!.status = 'completed';
      expect(() => compare(m, real)).toThrow();
    } finally {
      store.closeSync();
    }
  });
});
