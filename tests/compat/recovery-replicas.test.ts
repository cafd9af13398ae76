import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { closeModeExecutor, createModeExecutor, loadConfig, RUN_QUEUE, type ModeExecutor } from '../../src/compat';
import { newOwnerId, ownerOfWorker, ownerProcessGone } from '../../src/compat/recovery';
import { ManualClock } from '../../src/core/clock';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { fifo } from '../../src/strategies';
import { tempDb, until, type TempDb } from './helpers';
import { spawnApp, within } from './process-helpers';

const REPLICA = path.join(__dirname, 'fixtures', 'replica-process.js');

interface ReplicaMessage { event: 'started' | 'running' | 'done' | 'status'; runId?: string; active?: string[] }

/** A replica process (fixtures/replica-process.js) with the messages it sent so far. */
interface Replica {
  child: ChildProcess;
  messages: ReplicaMessage[];
  exited: Promise<number | null>;
  saw(event: ReplicaMessage['event'], runId?: string): boolean;
  activeRunIds(): Promise<string[]>;
}

function spawnReplica(env: Record<string, string>, start: string[]): Replica {
  const child = spawn(process.execPath, [REPLICA, JSON.stringify({ start })], {
    env: { PATH: process.env.PATH ?? '', TASKBRIDGE_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  const messages: ReplicaMessage[] = [];
  child.on('message', (m) => messages.push(m as ReplicaMessage));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child, messages, exited,
    saw: (event, runId) => messages.some((m) => m.event === event && (runId === undefined || m.runId === runId)),
    activeRunIds: async () => {
      const before = messages.filter((m) => m.event === 'status').length;
      child.send({ status: true });
      await until(() => messages.filter((m) => m.event === 'status').length > before, 'the replica to report its active runs');
      return messages.filter((m) => m.event === 'status').pop()!.active!.slice().sort();
    },
  };
}

/** Status of each run's task in the queue file, read as another process would. */
function queueStatuses(dbPath: string): Record<string, string> {
  const raw = new Database(dbPath, { readonly: true });
  try {
    const rows = raw.prepare('SELECT idempotency_key AS k, status FROM tasks WHERE queue = ?').all(RUN_QUEUE) as { k: string; status: string }[];
    return Object.fromEntries(rows.map((r) => [r.k, r.status]));
  } finally {
    raw.close();
  }
}

/** This test process as replica B: a sqlite-mode manager on `db` whose time moves only when told. */
async function withReplicaB(db: TempDb, clock: ManualClock, env: Record<string, string>, body: (b: { manager: BackgroundTaskManager; registry: RunRegistry }) => Promise<void>): Promise<void> {
  const registry = new RunRegistry();
  const logger = createLogger('silent');
  const config = loadConfig({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_POLL_INTERVAL: '20ms', ...env }, {});
  const executor: ModeExecutor = createModeExecutor(config, registry, { clock, logger });
  try {
    await body({ manager: new BackgroundTaskManager(registry, { executor, logger }), registry });
  } finally {
    await closeModeExecutor(executor);
  }
}

const LEASE = '1h';
const LEASE_MS = 3_600_000;
const RUNS = ['a1', 'a2', 'a3', 'a4'];

describe('recovery with two live replicas (sqlite mode, one file)', () => {
  it("a replica that registers its handler adopts none of a live replica's runs, and adopts and completes them once that replica is killed", async () => {
    const db = tempDb();
    const env = { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LEASE: LEASE, TASKBRIDGE_POLL_INTERVAL: '20ms' };
    // Concurrency 1 (and its prefetch of one): a1 runs, a2 may be claimed behind it, a3 and a4 stay queued.
    const a = spawnReplica({ ...env, TASKBRIDGE_CONCURRENCY: '1' }, RUNS);
    try {
      await until(() => a.saw('started') && a.saw('running', 'a1'), 'replica A to run a1');
      const before = queueStatuses(db.dbPath);
      expect(before.a1).toBe('running');
      expect(Object.values(before).filter((s) => s === 'queued').length).toBeGreaterThanOrEqual(2);

      // Started after A claimed a1, so A's leases run until at least this clock's start + LEASE.
      const clock = new ManualClock(Date.now());
      const handled: string[] = [];
      await withReplicaB(db, clock, { TASKBRIDGE_LEASE: LEASE }, async ({ manager, registry }) => {
        const handler = async (run: Run): Promise<void> => {
          handled.push(run.runId);
        };
        manager.registerHandler('m', handler);
        // A's runs, running and queued, stay A's: B neither counts nor waits for them.
        expect(manager.getActiveTaskIds()).toEqual([]);
        expect(manager.getActiveTaskCount()).toBe(0);
        for (const id of RUNS) expect(registry.getRun(id)).toBeUndefined();
        await within(manager.waitAll(), "B's waitAll while A's runs are in progress");
        // Still in progress: A's worker holds at most two (one running, one prefetched), none ended.
        const during = queueStatuses(db.dbPath);
        expect(during.a1).toBe('running');
        expect(Object.values(during).filter((s) => s === 'queued').length).toBeGreaterThanOrEqual(2);
        expect(Object.values(during).every((s) => s === 'queued' || s === 'running')).toBe(true);
        expect(await a.activeRunIds()).toEqual(RUNS);

        // A finishes a1 itself; B's handler never saw it.
        a.child.send({ release: 'a1' });
        await until(() => a.saw('done', 'a1') && a.saw('running', 'a2'), 'A to finish a1 and run a2');
        await until(() => queueStatuses(db.dbPath).a1 === 'completed', 'a1 completed in the file');
        expect(manager.getActiveTaskCount()).toBe(0);

        // The crash: a2 is running under A's lease, which B's clock says is still valid.
        a.child.kill('SIGKILL');
        await a.exited;
        // Any registerHandler looks again (as does the periodic look of a busy or serving worker).
        manager.registerHandler('m', handler);
        expect(manager.getActiveTaskIds().sort()).toEqual(['a2', 'a3', 'a4']);
        // a3 and a4 are claimed at once; a2 once the dead process's lease has expired.
        clock.advance(LEASE_MS + 1_000);
        await within(manager.waitAll(), "B's waitAll for the runs it adopted from the killed replica");
        expect(handled.slice().sort()).toEqual(['a2', 'a3', 'a4']);
        for (const id of ['a2', 'a3', 'a4']) expect(registry.getRun(id)?.status).toBe('completed');
        expect(registry.getRun('a1')).toBeUndefined();
      });
      expect(queueStatuses(db.dbPath)).toEqual({ a1: 'completed', a2: 'completed', a3: 'completed', a4: 'completed' });
      expect(a.messages.filter((m) => m.event === 'done').map((m) => m.runId)).toEqual(['a1']);
    } finally {
      a.child.kill('SIGKILL');
      await a.exited;
      db.remove();
    }
  }, 60_000);
});

describe('an idle process with the handler (sqlite mode)', () => {
  it("takes over a run pinned to a process that died, without being busy, serving or registering again", async () => {
    const db = tempDb();
    const env = { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LEASE: '1s', TASKBRIDGE_POLL_INTERVAL: '20ms' };
    const clock = new ManualClock(Date.now());
    let a: ReturnType<typeof spawnApp> | undefined;
    try {
      await withReplicaB(db, clock, { TASKBRIDGE_LEASE: '1s' }, async ({ manager, registry }) => {
        const handled: string[] = [];
        // B registers the handler and then has nothing to do: no runs, no worker, not serving.
        manager.registerHandler('no-handler', async (run: Run) => {
          handled.push(run.runId);
        });
        // A has only the closure of its run (no handler for the module): the run is pinned to A.
        a = spawnApp(env, { start: ['p1'], hang: true, marker: `${db.dir}/markers`, module: 'no-handler' });
        await until(() => a!.out().includes('RUNNING p1'), 'process A to run p1');
        a.child.kill('SIGKILL');
        await a.exited;
        // Past A's lease on B's clock; B's look runs once per lease (1 s) of real time.
        clock.advance(60_000);
        await until(() => handled.includes('p1'), "idle B's periodic look to take over A's run", 20_000);
        await within(manager.waitAll(), 'the taken-over run to complete');
        expect(handled).toEqual(['p1']);
        expect(registry.getRun('p1')?.status).toBe('completed');
      });
      expect(queueStatuses(db.dbPath)).toEqual({ p1: 'completed' });
    } finally {
      a?.child.kill('SIGKILL');
      await a?.exited;
      db.remove();
    }
  }, 60_000);
});

describe('a run id that ended here and was started again by another process (sqlite mode)', () => {
  it('is adopted as the new run: its handler gets the new parameters and the record loses the old outcome', async () => {
    const db = tempDb();
    const env = { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LEASE: LEASE, TASKBRIDGE_POLL_INTERVAL: '20ms' };
    const clock = new ManualClock(Date.now());
    let a: Replica | undefined;
    try {
      await withReplicaB(db, clock, { TASKBRIDGE_LEASE: LEASE }, async ({ manager, registry }) => {
        // The first run of 'r' ends here, failed, with progress and parameters of its own.
        manager.startTask({ runId: 'r', moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(clock.now()), parameters: { n: 1 } }, async (ctx) => {
          ctx.reportProgress({ percent: 50 });
          throw new Error('the first run failed');
        });
        await within(manager.waitAll(), 'the first run of r to end here');
        expect(registry.getRun('r')).toMatchObject({ status: 'failed', progressPercent: 50, errorMessage: 'the first run failed', parameters: { n: 1 } });

        // Replica A starts 'r' again (its parameters are { runId: 'r' }) and dies while running it.
        a = spawnReplica(env, ['r']);
        await until(() => a!.saw('running', 'r'), 'replica A to run r');
        a.child.kill('SIGKILL');
        await a.exited;

        const received: Run[] = [];
        manager.registerHandler('m', async (run: Run) => {
          received.push(run);
        });
        expect(manager.getActiveTaskIds()).toEqual(['r']);
        expect(registry.getRun('r')).toMatchObject({ status: 'queued', parameters: { runId: 'r' } });
        expect(registry.getRun('r')?.errorMessage).toBeUndefined();
        expect(registry.getRun('r')?.progressPercent).toBeUndefined();
        clock.advance(LEASE_MS + 1_000);
        await within(manager.waitAll(), 'the adopted run of r to complete');
        expect(received.map((r) => r.parameters)).toEqual([{ runId: 'r' }]);
        const record = registry.getRun('r');
        expect(record).toMatchObject({ status: 'completed', exitCode: 0, parameters: { runId: 'r' } });
        expect(record?.errorMessage).toBeUndefined();
        expect(record?.progressPercent).toBeUndefined();
      });
    } finally {
      a?.child.kill('SIGKILL');
      await a?.exited;
      db.remove();
    }
  }, 60_000);
});

describe('recovery of runs this process did not start (sqlite mode)', () => {
  const request = (runId: string, payload: unknown) => ({ type: 'm', queue: RUN_QUEUE, payload, idempotencyKey: runId, maxAttempts: 3 });

  it('a run another worker holds under a valid lease is left to it, and adopted and completed once that lease has expired', async () => {
    const db = tempDb();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const other = createSqliteTaskStore({ path: db.dbPath, clock });
    try {
      // No starter in the payload (a row from before it was recorded): the lease alone says who owns it.
      other.enqueueSync(request('held', { parameters: {}, run: { moduleName: 'M', createdAt: new Date(clock.now()).toISOString() } }));
      const [claimed] = other.claimSync({ workerId: 'cli-worker-1', limit: 1, leaseMs: 60_000, strategy: fifo });
      expect(claimed?.task.idempotencyKey).toBe('held');
      await withReplicaB(db, clock, { TASKBRIDGE_LEASE: '60s' }, async ({ manager, registry }) => {
        const handled: string[] = [];
        const handler = async (run: Run): Promise<void> => {
          handled.push(run.runId);
        };
        manager.registerHandler('m', handler);
        expect(manager.getActiveTaskCount()).toBe(0);
        expect(registry.getRun('held')).toBeUndefined();
        clock.advance(60_001);
        manager.registerHandler('m', handler);
        expect(manager.getActiveTaskIds()).toEqual(['held']);
        await within(manager.waitAll(), 'the adopted run to complete');
        expect(handled).toEqual(['held']);
        expect(registry.getRun('held')?.status).toBe('completed');
      });
    } finally {
      await other.close();
      db.remove();
    }
  });

  it('queued runs whose starter is not recorded (older rows, other producers) are adopted as before', async () => {
    const db = tempDb();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const other = createSqliteTaskStore({ path: db.dbPath, clock });
    try {
      other.enqueueSync(request('old-shape', { parameters: { n: 1 }, run: { moduleName: 'Old', createdAt: new Date(clock.now()).toISOString() } }));
      other.enqueueSync(request('bare', { n: 2 }));
      await withReplicaB(db, clock, {}, async ({ manager, registry }) => {
        const handled: string[] = [];
        manager.registerHandler('m', async (run: Run) => {
          handled.push(run.runId);
        });
        expect(manager.getActiveTaskIds().sort()).toEqual(['bare', 'old-shape']);
        await within(manager.waitAll(), 'the adopted runs to complete');
        expect(handled.sort()).toEqual(['bare', 'old-shape']);
        expect(registry.getRun('old-shape')).toMatchObject({ status: 'completed', moduleName: 'Old', parameters: { n: 1 } });
        expect(registry.getRun('bare')).toMatchObject({ status: 'completed', moduleName: 'm', parameters: { n: 2 } });
      });
    } finally {
      await other.close();
      db.remove();
    }
  });
});

describe('executor identities', () => {
  it("a worker id names its executor's owner id; other workers name none", () => {
    const owner = newOwnerId();
    expect(ownerOfWorker(`${owner}-a1b2c3`)).toBe(owner);
    expect(ownerOfWorker('tb-4242-0123456789ab-a1b2c3')).toBe('tb-4242-0123456789ab');
    expect(ownerOfWorker('cli-worker-1')).toBeUndefined();
    expect(ownerOfWorker('rollback-4242-1f2e3d4c')).toBeUndefined();
  });

  it("an owner's process is gone when its pid on this host is free, or is this process's but the id was not made here", async () => {
    const owner = newOwnerId();
    const [, host] = /^tb-([0-9a-f]{8})-/.exec(owner)!;
    expect(ownerProcessGone(owner)).toBe(false);
    // A restart that got the same pid: the id of the process before it.
    expect(ownerProcessGone(`tb-${host}-${process.pid}-0123456789ab`)).toBe(true);
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => child.on('exit', resolve));
    expect(ownerProcessGone(`tb-${host}-${child.pid}-0123456789ab`)).toBe(true);
    // What it cannot tell is never called gone: another host, an id without a host tag.
    const otherHost = host === '00000000' ? '11111111' : '00000000';
    expect(ownerProcessGone(`tb-${otherHost}-${child.pid}-0123456789ab`)).toBe(false);
    expect(ownerProcessGone(`tb-${child.pid}-0123456789ab`)).toBe(false);
    expect(ownerProcessGone('shadow-1-ab')).toBe(false);
  });
});
