import { ManualClock } from '../../src/core/clock';
import type { Logger } from '../../src/core/logger';
import { BackgroundTaskManager, MemoryRunExecutor, RunRegistry, type Run } from '../../src/manager';
import { describeThrown } from '../../src/manager/run-lifecycle';
import { makeRun, turns, watchUnhandledRejections } from '../contract/legacy-app.helpers';

function setup() {
  const clock = new ManualClock();
  const errors: string[] = [];
  const logger: Logger = { error: (m) => errors.push(m), warn: () => undefined, info: () => undefined, debug: () => undefined };
  const registry = new RunRegistry({ clock });
  const executor = new MemoryRunExecutor(registry, { clock, logger });
  const manager = new BackgroundTaskManager(registry, { executor, clock });
  return { clock, registry, manager, errors };
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

class GetterError extends Error {
  override get message(): string {
    throw new Error('message getter');
  }
}

describe('a run whose work rejects with a value that cannot be read', () => {
  it.each([
    ['an object whose message getter throws', () => ({ get message(): string { throw new Error('getter'); } })],
    ['an Error whose message getter throws', () => new GetterError()],
    ['a revoked Proxy', revokedProxy],
  ])('%s still ends failed with errorMessage, completedAt and durationSeconds', async (_label, reason) => {
    const { registry, manager, clock, errors } = setup();
    const rejections = watchUnhandledRejections();
    const run = makeRun('unreadable');
    manager.startTask(run, async () => {
      clock.advance(1500);
      throw reason();
    });
    await manager.waitAll();
    // Node reports an unhandled rejection only after the current turn's microtasks: let one pass.
    await turns();
    rejections.stop();
    const failed = registry.getRun(run.runId) as Run;
    expect(failed).toMatchObject({ status: 'failed', completedAt: new Date(clock.now()), durationSeconds: 1.5 });
    expect(typeof failed.errorMessage).toBe('string');
    expect(errors).toEqual(['run failed']);
    expect(rejections.seen).toEqual([]);
  });

  it('the executors\' describeThrown never throws, whatever it is handed', () => {
    expect(typeof describeThrown(revokedProxy())).toBe('string');
    expect(typeof describeThrown(new GetterError())).toBe('string');
  });
});

describe('starting a finished run id again', () => {
  it('the queued run does not show the previous run\'s progress', async () => {
    const { registry, manager } = setup();
    const run = makeRun('progress-again');
    manager.startTask(run, async (ctx) => {
      ctx.reportProgress({ percent: 100, itemsProcessed: 5, itemsTotal: 5 });
    });
    await manager.waitAll();
    manager.startTask(run, async () => undefined);
    const queued = registry.getRun(run.runId) as Run;
    expect(queued.status).toBe('queued');
    expect(queued.progressPercent).toBeUndefined();
    expect(queued.itemsProcessed).toBeUndefined();
    expect(queued.itemsTotal).toBeUndefined();
    await manager.waitAll();
  });

  it('neither does a restart handed the registry\'s own copy of the finished run', async () => {
    const { registry, manager } = setup();
    const run = makeRun('progress-copy');
    manager.startTask(run, async (ctx) => {
      ctx.reportProgress({ percent: 40, itemsProcessed: 2, itemsTotal: 5 });
      throw new Error('first attempt');
    });
    await manager.waitAll();
    manager.startTask(registry.getRun(run.runId) as Run, async () => undefined);
    const queued = registry.getRun(run.runId) as Run;
    expect(queued.status).toBe('queued');
    expect([queued.progressPercent, queued.itemsProcessed, queued.itemsTotal]).toEqual([undefined, undefined, undefined]);
    await manager.waitAll();
  });
});

describe('a wall clock stepped back while a run ran', () => {
  it('never yields a negative durationSeconds or a completedAt before startedAt', async () => {
    const { registry, manager, clock } = setup();
    const run = makeRun('clock-back');
    manager.startTask(run, async () => {
      // An NTP step or a VM resume can move Date.now() backwards.
      clock.advance(-3000);
    });
    await manager.waitAll();
    const done = registry.getRun(run.runId) as Run;
    expect(done.status).toBe('completed');
    expect(done.durationSeconds).toBe(0);
    expect((done.completedAt as Date).getTime()).toBeGreaterThanOrEqual((done.startedAt as Date).getTime());
  });
});
