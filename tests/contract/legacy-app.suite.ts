import { DuplicateRunError, InvalidInputError } from '../../src/core/errors';
import type { BackgroundTaskManager, RunRegistry, TaskContext, TaskWork } from '../../src/manager';
import { deferred, makeRun, turns, until, untilStatus, watchUnhandledRejections, within, type Deferred } from './legacy-app.helpers';

/** What each mode's test file hands the suite: a manager, its registry, and how to clean up. */
export interface LegacyAppFixture {
  manager: BackgroundTaskManager;
  registry: RunRegistry;
  teardown(): Promise<void>;
}

/**
 * The legacy application's view of taskbridge, written only against the contract
 * (shared/legacy-api.md). Every mode runs it unchanged; the mode is the only difference. No timing
 * is assumed beyond the contract: work waits on promises the test resolves, and "the work has
 * begun" is learned from inside the work, never from a sleep.
 */
export function runLegacyAppSuite(modeName: string, setup: () => Promise<LegacyAppFixture>): void {
  describe(`legacy app contract (${modeName} mode)`, () => {
    let fx: LegacyAppFixture;
    let gates: Deferred<unknown>[];
    let rejections: ReturnType<typeof watchUnhandledRejections>;

    /** A gate the test opens; afterEach opens any left closed so waitAll cannot hang. */
    const gate = <T = unknown>(): Deferred<T> => {
      const d = deferred<T>();
      gates.push(d as Deferred<unknown>);
      return d;
    };

    /** Work that signals when it begins, then finishes when the test opens its gate. */
    const gatedWork = (result: unknown = 'done') => {
      const began = deferred<TaskContext>();
      const release = gate<void>();
      let calls = 0;
      const work: TaskWork = async (ctx) => {
        calls += 1;
        began.resolve(ctx);
        await release.promise;
        return result;
      };
      return { work, began, release, calls: () => calls };
    };

    beforeEach(async () => {
      gates = [];
      rejections = watchUnhandledRejections();
      fx = await setup();
    });

    afterEach(async () => {
      for (const g of gates) if (!g.settled) g.resolve(undefined);
      await within(fx.manager.waitAll(), 'waitAll in afterEach');
      await fx.teardown();
      await turns();
      rejections.stop();
      expect(rejections.seen).toEqual([]);
    });

    describe('success', () => {
      it('startTask returns the run id at once and the run is queued, then completed with exitCode 0', async () => {
        const { work, release, began } = gatedWork();
        const run = makeRun(`${modeName}-ok`);
        const returned = fx.manager.startTask(run, work);
        expect(returned).toBe(run.runId);
        expect(fx.registry.getRun(run.runId)?.status).toBe('queued');
        const ctx = await within(began.promise, 'the work to begin');
        expect(ctx.runId).toBe(run.runId);
        expect(ctx.signal.aborted).toBe(false);
        release.resolve();
        await within(fx.manager.waitAll(), 'waitAll');
        const done = fx.registry.getRun(run.runId);
        expect(done).toMatchObject({ runId: run.runId, moduleId: run.moduleId, moduleName: run.moduleName, status: 'completed', exitCode: 0 });
        expect(done?.parameters).toEqual(run.parameters);
      });

      it('a run is marked running with startedAt once its work has begun', async () => {
        const { work, release, began } = gatedWork();
        const run = makeRun(`${modeName}-running`);
        fx.manager.startTask(run, work);
        await within(began.promise, 'the work to begin');
        await untilStatus(fx.registry, run.runId, 'running');
        expect(fx.registry.getRun(run.runId)?.startedAt).toBeInstanceOf(Date);
        release.resolve();
      });

      it('a completed run carries startedAt <= completedAt and a matching durationSeconds', async () => {
        const run = makeRun(`${modeName}-timing`);
        fx.manager.startTask(run, async () => 42);
        await within(fx.manager.waitAll(), 'waitAll');
        assertTimestamps(fx.registry, run.runId);
      });
    });

    describe('failure', () => {
      it('a rejecting work marks the run failed with the error message, and waitAll does not reject', async () => {
        const run = makeRun(`${modeName}-fail`);
        fx.manager.startTask(run, async () => {
          throw new Error('the report server is down');
        });
        await expect(within(fx.manager.waitAll(), 'waitAll')).resolves.toBeUndefined();
        const failed = fx.registry.getRun(run.runId);
        expect(failed).toMatchObject({ status: 'failed', errorMessage: 'the report server is down' });
        expect(failed?.exitCode).not.toBe(0);
        assertTimestamps(fx.registry, run.runId);
      });

      it('a work rejecting with a non-Error value fails the run with a message naming that value', async () => {
        const run = makeRun(`${modeName}-fail-string`);
        // eslint-disable-next-line prefer-promise-reject-errors -- legacy code does reject with strings
        fx.manager.startTask(run, () => Promise.reject('quota exceeded'));
        await within(fx.manager.waitAll(), 'waitAll');
        const failed = fx.registry.getRun(run.runId);
        expect(failed?.status).toBe('failed');
        expect(failed?.errorMessage).toContain('quota exceeded');
      });

      it('a work that throws before returning a promise fails the run instead of reaching the caller', async () => {
        const run = makeRun(`${modeName}-fail-sync`);
        const work = (() => {
          throw new Error('thrown synchronously');
        }) as unknown as TaskWork;
        expect(() => fx.manager.startTask(run, work)).not.toThrow();
        await within(fx.manager.waitAll(), 'waitAll');
        expect(fx.registry.getRun(run.runId)).toMatchObject({ status: 'failed', errorMessage: 'thrown synchronously' });
      });
    });

    describe('cancel', () => {
      it('a run cancelled right after startTask is marked cancelled and its work never runs', async () => {
        let ran = false;
        const run = makeRun(`${modeName}-cancel-early`);
        fx.manager.startTask(run, async () => {
          ran = true;
        });
        await expect(within(fx.manager.cancelTask(run.runId), 'cancelTask')).resolves.toBe(true);
        expect(fx.manager.isTaskActive(run.runId)).toBe(false);
        const cancelled = fx.registry.getRun(run.runId);
        expect(cancelled?.status).toBe('cancelled');
        expect(cancelled?.completedAt).toBeInstanceOf(Date);
        await within(fx.manager.waitAll(), 'waitAll');
        await turns();
        expect(ran).toBe(false);
        expect(fx.registry.getRun(run.runId)?.status).toBe('cancelled');
      });

      it('cancelling a running run aborts its signal, waits for the work to settle and marks it cancelled', async () => {
        const began = deferred<TaskContext>();
        let settled = false;
        const run = makeRun(`${modeName}-cancel-running`);
        fx.manager.startTask(run, async (ctx) => {
          began.resolve(ctx);
          try {
            await new Promise<void>((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
          } finally {
            settled = true;
          }
        });
        const ctx = await within(began.promise, 'the work to begin');
        await untilStatus(fx.registry, run.runId, 'running');
        await expect(within(fx.manager.cancelTask(run.runId), 'cancelTask')).resolves.toBe(true);
        expect(ctx.signal.aborted).toBe(true);
        expect(settled).toBe(true);
        const cancelled = fx.registry.getRun(run.runId);
        expect(cancelled?.status).toBe('cancelled');
        expect(cancelled?.completedAt).toBeInstanceOf(Date);
        expect(fx.manager.isTaskActive(run.runId)).toBe(false);
        await within(fx.manager.waitAll(), 'waitAll');
        expect(fx.registry.getRun(run.runId)?.status).toBe('cancelled');
      });

      it('a result arriving after cancellation does not change the status, and cancel waits for it', async () => {
        const { work, began, release } = gatedWork('late result');
        const run = makeRun(`${modeName}-cancel-late`);
        fx.manager.startTask(run, work);
        await within(began.promise, 'the work to begin');
        await untilStatus(fx.registry, run.runId, 'running');
        let cancelResolved = false;
        const cancelling = fx.manager.cancelTask(run.runId).then((v) => {
          cancelResolved = true;
          return v;
        });
        await turns();
        // The work ignores its signal and is still going, so cancelTask must not have resolved yet.
        expect(cancelResolved).toBe(false);
        release.resolve();
        await expect(within(cancelling, 'cancelTask')).resolves.toBe(true);
        await within(fx.manager.waitAll(), 'waitAll');
        await turns();
        expect(fx.registry.getRun(run.runId)?.status).toBe('cancelled');
      });

      it('a failure arriving after cancellation does not change the status either', async () => {
        const began = deferred<void>();
        const fail = gate<void>();
        const run = makeRun(`${modeName}-cancel-late-fail`);
        fx.manager.startTask(run, async () => {
          began.resolve();
          await fail.promise;
          throw new Error('too late');
        });
        await within(began.promise, 'the work to begin');
        await untilStatus(fx.registry, run.runId, 'running');
        const cancelling = fx.manager.cancelTask(run.runId);
        fail.resolve();
        await expect(within(cancelling, 'cancelTask')).resolves.toBe(true);
        await within(fx.manager.waitAll(), 'waitAll');
        expect(fx.registry.getRun(run.runId)?.status).toBe('cancelled');
      });

      it('cancelTask resolves false for an unknown run, a finished run, and a second cancel', async () => {
        await expect(fx.manager.cancelTask(`${modeName}-no-such-run`)).resolves.toBe(false);
        const done = makeRun(`${modeName}-cancel-done`);
        fx.manager.startTask(done, async () => undefined);
        await within(fx.manager.waitAll(), 'waitAll');
        await expect(fx.manager.cancelTask(done.runId)).resolves.toBe(false);
        expect(fx.registry.getRun(done.runId)?.status).toBe('completed');

        const twice = makeRun(`${modeName}-cancel-twice`);
        fx.manager.startTask(twice, async () => undefined);
        await expect(within(fx.manager.cancelTask(twice.runId), 'cancelTask')).resolves.toBe(true);
        await expect(within(fx.manager.cancelTask(twice.runId), 'second cancelTask')).resolves.toBe(false);
      });
    });

    describe('waitAll and active runs', () => {
      it('waitAll resolves only when every started run has settled, failures included', async () => {
        const a = gatedWork();
        const b = gatedWork();
        const runs = [makeRun(`${modeName}-wait-a`), makeRun(`${modeName}-wait-b`), makeRun(`${modeName}-wait-c`)];
        fx.manager.startTask(runs[0], a.work);
        fx.manager.startTask(runs[1], b.work);
        fx.manager.startTask(runs[2], async () => {
          throw new Error('c fails');
        });
        let waited = false;
        const waiting = fx.manager.waitAll().then(() => {
          waited = true;
        });
        await within(Promise.all([a.began.promise, b.began.promise]), 'both works to begin');
        await turns();
        expect(waited).toBe(false);
        a.release.resolve();
        await turns();
        expect(waited).toBe(false);
        b.release.resolve();
        await within(waiting, 'waitAll');
        expect(runs.map((r) => fx.registry.getRun(r.runId)?.status)).toEqual(['completed', 'completed', 'failed']);
      });

      it('waitAll with nothing started resolves', async () => {
        await expect(within(fx.manager.waitAll(), 'waitAll')).resolves.toBeUndefined();
      });

      it('getActiveTaskCount, getActiveTaskIds and isTaskActive follow runs from startTask to settled', async () => {
        const works = [gatedWork(), gatedWork(), gatedWork()];
        const runs = works.map((_, i) => makeRun(`${modeName}-active-${i}`));
        runs.forEach((run, i) => fx.manager.startTask(run, works[i].work));
        expect(fx.manager.getActiveTaskCount()).toBe(3);
        expect([...fx.manager.getActiveTaskIds()].sort()).toEqual(runs.map((r) => r.runId).sort());
        for (const run of runs) expect(fx.manager.isTaskActive(run.runId)).toBe(true);
        expect(fx.manager.isTaskActive(`${modeName}-never-started`)).toBe(false);
        expect(fx.registry.getActiveRuns().map((r) => r.runId).sort()).toEqual(runs.map((r) => r.runId).sort());

        await within(works[0].began.promise, 'the first work to begin');
        // The second work ignores its signal: cancelTask waits for it, so let it finish.
        const cancelling = fx.manager.cancelTask(runs[1].runId);
        works[1].release.resolve();
        await expect(within(cancelling, 'cancelTask')).resolves.toBe(true);
        expect(fx.manager.getActiveTaskCount()).toBe(2);
        expect(fx.manager.getActiveTaskIds()).not.toContain(runs[1].runId);

        works[0].release.resolve();
        works[2].release.resolve();
        await within(fx.manager.waitAll(), 'waitAll');
        expect(fx.manager.getActiveTaskCount()).toBe(0);
        expect(fx.manager.getActiveTaskIds()).toEqual([]);
        for (const run of runs) expect(fx.manager.isTaskActive(run.runId)).toBe(false);
      });
    });

    describe('progress', () => {
      it('reportProgress updates progressPercent, itemsProcessed and itemsTotal', async () => {
        const reported = deferred<void>();
        const finish = gate<void>();
        const run = makeRun(`${modeName}-progress`);
        fx.manager.startTask(run, async (ctx) => {
          ctx.reportProgress({ itemsTotal: 10 });
          ctx.reportProgress({ percent: 40, itemsProcessed: 4 });
          reported.resolve();
          await finish.promise;
        });
        await within(reported.promise, 'progress to be reported');
        await until(() => fx.registry.getRun(run.runId)?.progressPercent === 40, 'progressPercent 40');
        expect(fx.registry.getRun(run.runId)).toMatchObject({ progressPercent: 40, itemsProcessed: 4, itemsTotal: 10 });
        finish.resolve();
        await within(fx.manager.waitAll(), 'waitAll');
        expect(fx.registry.getRun(run.runId)?.status).toBe('completed');
      });
    });

    describe('duplicate run id', () => {
      it('starting a run id that is still active throws DuplicateRunError and leaves the first run alone', async () => {
        const first = gatedWork();
        const run = makeRun(`${modeName}-dup`);
        fx.manager.startTask(run, first.work);
        let secondRan = false;
        expect(() =>
          fx.manager.startTask({ ...run }, async () => {
            secondRan = true;
          }),
        ).toThrow(DuplicateRunError);
        first.release.resolve();
        await within(fx.manager.waitAll(), 'waitAll');
        expect(secondRan).toBe(false);
        expect(first.calls()).toBe(1);
        expect(fx.registry.getRun(run.runId)?.status).toBe('completed');
      });
    });

    describe('invalid input', () => {
      class Point {
        constructor(readonly x: number) {}
      }
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const badParameters: Array<[string, Record<string, unknown>]> = [
        ['a function', { callback: () => undefined }],
        ['a cycle', cyclic],
        ['a BigInt', { big: BigInt(10) }],
        ['a class instance', { point: new Point(1) }],
      ];

      it.each([
        ['a missing runId', { runId: undefined }, 'runId'],
        ['an empty runId', { runId: '' }, 'runId'],
        ['a missing moduleId', { moduleId: undefined }, 'moduleId'],
        ['an empty moduleId', { moduleId: '' }, 'moduleId'],
      ])('%s is refused with a typed error naming the field', (_label, override, field) => {
        const run = makeRun(`${modeName}-invalid`, override as never);
        expectInvalid(() => fx.manager.startTask(run, async () => undefined), field);
        expect(fx.manager.getActiveTaskCount()).toBe(0);
      });

      it.each(badParameters)('parameters holding %s are refused with a typed error naming parameters', (_label, parameters) => {
        const run = makeRun(`${modeName}-invalid-params`, { parameters });
        expectInvalid(() => fx.manager.startTask(run, async () => undefined), 'parameters');
        expect(fx.registry.getRun(run.runId)).toBeUndefined();
        expect(fx.manager.isTaskActive(run.runId)).toBe(false);
      });

      it('parameters holding a Date are accepted', async () => {
        const run = makeRun(`${modeName}-date-param`, { parameters: { since: new Date('2026-01-01T00:00:00Z') } });
        fx.manager.startTask(run, async () => undefined);
        await within(fx.manager.waitAll(), 'waitAll');
        expect(fx.registry.getRun(run.runId)?.status).toBe('completed');
      });

      it('a work that is not a function is refused with a typed error naming work', () => {
        const run = makeRun(`${modeName}-invalid-work`);
        expectInvalid(() => fx.manager.startTask(run, 'not a function' as unknown as TaskWork), 'work');
        expect(fx.manager.isTaskActive(run.runId)).toBe(false);
      });
    });

    describe('registry reads', () => {
      it('mutating a run returned by the registry does not change the registry', async () => {
        const run = makeRun(`${modeName}-copy`, { moduleId: `${modeName}-copy-module` });
        fx.manager.startTask(run, async () => undefined);
        await within(fx.manager.waitAll(), 'waitAll');
        const before = fx.registry.getRun(run.runId);
        const reads = [
          fx.registry.getRun(run.runId),
          fx.registry.getRunsByModule(run.moduleId)[0],
          fx.registry.getRunsByStatus('completed').find((r) => r.runId === run.runId),
          fx.registry.getRecentRuns().find((r) => r.runId === run.runId),
        ];
        for (const copy of reads) {
          expect(copy).toBeDefined();
          tryMutate(copy as unknown as Record<string, unknown>);
        }
        expect(fx.registry.getRun(run.runId)).toEqual(before);
      });

      it('getRunsByModule, getRunsByStatus and getRecentRuns see the runs the manager started', async () => {
        const moduleId = `${modeName}-module-${Date.now()}`;
        const ok = makeRun(`${modeName}-q-ok`, { moduleId, createdAt: new Date(Date.now() - 1000) });
        const bad = makeRun(`${modeName}-q-bad`, { moduleId });
        fx.manager.startTask(ok, async () => undefined);
        fx.manager.startTask(bad, async () => {
          throw new Error('no');
        });
        await within(fx.manager.waitAll(), 'waitAll');
        expect(fx.registry.getRunsByModule(moduleId).map((r) => r.runId).sort()).toEqual([ok.runId, bad.runId].sort());
        expect(fx.registry.getRunsByStatus('failed').map((r) => r.runId)).toContain(bad.runId);
        expect(fx.registry.getRunsByStatus('completed').map((r) => r.runId)).toContain(ok.runId);
        const recent = fx.registry.getRecentRuns().map((r) => r.runId);
        expect(recent.indexOf(bad.runId)).toBeLessThan(recent.indexOf(ok.runId));
      });
    });
  });
}

function expectInvalid(call: () => unknown, field: string): void {
  let caught: unknown;
  try {
    call();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidInputError);
  expect((caught as Error).message).toContain(field);
}

function assertTimestamps(registry: RunRegistry, runId: string): void {
  const run = registry.getRun(runId);
  expect(run?.startedAt).toBeInstanceOf(Date);
  expect(run?.completedAt).toBeInstanceOf(Date);
  const started = (run?.startedAt as Date).getTime();
  const completed = (run?.completedAt as Date).getTime();
  expect(completed).toBeGreaterThanOrEqual(started);
  expect(typeof run?.durationSeconds).toBe('number');
  expect(run?.durationSeconds).toBeGreaterThanOrEqual(0);
  // Backends may round stored times; allow a second of slack, not a different measure.
  expect(Math.abs((run?.durationSeconds as number) - (completed - started) / 1000)).toBeLessThan(1);
}

/** Mutates every field of a returned run the way careless application code might; frozen copies may throw. */
function tryMutate(copy: Record<string, unknown>): void {
  const attempts: Array<() => void> = [
    () => {
      copy.status = 'failed';
    },
    () => {
      copy.moduleName = 'changed';
    },
    () => {
      (copy.parameters as Record<string, unknown>).month = 'changed';
    },
    () => {
      ((copy.parameters as { ids: number[] }).ids as number[]).push(99);
    },
    () => {
      (copy.createdAt as Date).setFullYear(1999);
    },
    () => {
      (copy.completedAt as Date).setFullYear(1999);
    },
  ];
  for (const attempt of attempts) {
    try {
      attempt();
    } catch {
      // A frozen copy refusing the write is as good as a copy absorbing it.
    }
  }
}
