import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import type { TaskStore } from '../../src/queue/types';
import { Worker } from '../../src/queue/worker';
import { nextMessage } from '../support/child-messages';
import { MemoryLogger, openStore, tempDir, waitFor } from './worker-helpers';

const ROOT = join(__dirname, '../..');
const FIXTURES = join(ROOT, 'tests/fixtures');

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('worker processes', () => {
  let cleanup: () => void;
  let dir: string;
  let store: TaskStore | undefined;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await store?.close();
    store = undefined;
    cleanup();
  });

  it('4 processes drain 10,000 tasks, each handler runs exactly once, and each process exits after stop()', async () => {
    const dbPath = join(dir, 'queue.db');
    store = openStore(dir);
    const ids: number[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const results = await store.enqueueBatch(Array.from({ length: 1_000 }, (_, i) => ({ type: 'noop', payload: { n: batch * 1_000 + i } })));
      ids.push(...results.map((r) => r.task.id));
    }
    const runFiles = [0, 1, 2, 3].map((k) => join(dir, `runs-${k}.txt`));
    for (let k = 0; k < 4; k++) {
      children.push(fork(join(FIXTURES, 'worker-drain.js'), [dbPath, runFiles[k]!, `drain-${k}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    }
    await Promise.all(children.map((c) => nextMessage(c, (m) => m === 'ready')));
    const s = store;
    await waitFor(async () => (await s.counts()).byStatus.completed === 10_000, 90_000, 'all 10,000 completed');

    const exits = children.map(exited);
    for (const child of children) child.send('stop');
    // Nothing but the worker holds the event loop, so each child exits by itself once stopped.
    expect(await Promise.all(exits)).toEqual([0, 0, 0, 0]);

    const runs = runFiles.flatMap((f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map(Number) : []));
    expect(runs).toHaveLength(10_000);
    expect(new Set(runs).size).toBe(10_000);
    expect([...runs].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    const counts = await s.counts();
    expect(counts.byStatus).toMatchObject({ queued: 0, running: 0, completed: 10_000, failed: 0 });
    expect(await s.listWorkers()).toEqual([]);
  });

  it('after a worker process is SIGKILLed mid-task, another worker completes the task once the lease expires', async () => {
    const dbPath = join(dir, 'queue.db');
    // The rescuer's clock is manual: the test moves it past the dead worker's lease instead of waiting.
    const clock = new ManualClock(Date.now());
    store = openStore(dir, { clock });
    const { task } = await store.enqueue({ type: 'hang', maxAttempts: 3 });
    const crasher = fork(join(FIXTURES, 'worker-crash.js'), [dbPath, 'crasher', '5s'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(crasher);
    const started = await nextMessage<{ started: number; attempt: number }>(crasher, (m) => typeof m === 'object' && m !== null);
    expect(started).toEqual({ started: task.id, attempt: 1 });
    crasher.kill('SIGKILL');
    await exited(crasher);
    const orphan = (await store.get(task.id))!;
    expect(orphan).toMatchObject({ status: 'running', leaseOwner: 'crasher', attempts: 1 });

    let claims = 0;
    const base = store;
    const counting: TaskStore = Object.create(base);
    counting.claim = (request) => {
      claims++;
      return base.claim(request);
    };
    const registry = new HandlerRegistry().register('hang', async (_p, ctx) => `finished on attempt ${ctx.attempt}`);
    const rescuer = new Worker(counting, registry, { workerId: 'rescuer', clock, logger: new MemoryLogger(), pollInterval: { min: '5ms', max: '5ms' } });
    await rescuer.start();
    try {
      await waitFor(() => claims >= 3, 'a few claims while the lease holds');
      expect(await store.get(task.id)).toMatchObject({ status: 'running', leaseOwner: 'crasher' });

      clock.set(orphan.leaseExpiresAt!.getTime() + 1);
      await waitFor(async () => (await base.get(task.id))?.status === 'completed', 'rescued');
      expect(await store.get(task.id)).toMatchObject({ attempts: 2, result: 'finished on attempt 2' });
    } finally {
      await rescuer.stop();
    }
  });
});
