import type { TaskContext, TaskWork } from '../../src/manager';
import { assertTimestamps, deferred, makeRun, turns, untilStatus, within } from './legacy-app.helpers';
import type { SuiteContext } from './legacy-app.suite';

/** The contract's lifecycle: success, failure and cancel, with the timestamps each one writes. */
export function describeLifecycle({ mode, fx, gate, gatedWork }: SuiteContext): void {
  describe('success', () => {
    it('startTask returns the run id at once and the run is queued, then completed with exitCode 0', async () => {
      const { work, release, began } = gatedWork();
      const run = makeRun(`${mode}-ok`);
      const returned = fx().manager.startTask(run, work);
      expect(returned).toBe(run.runId);
      expect(fx().registry.getRun(run.runId)?.status).toBe('queued');
      const ctx = await within(began.promise, 'the work to begin');
      expect(ctx.runId).toBe(run.runId);
      expect(ctx.signal.aborted).toBe(false);
      release.resolve();
      await within(fx().manager.waitAll(), 'waitAll');
      const done = fx().registry.getRun(run.runId);
      expect(done).toMatchObject({ runId: run.runId, moduleId: run.moduleId, moduleName: run.moduleName, status: 'completed', exitCode: 0 });
      expect(done?.parameters).toEqual(run.parameters);
    });

    it('a run is marked running with startedAt once its work has begun', async () => {
      const { work, release, began } = gatedWork();
      const run = makeRun(`${mode}-running`);
      fx().manager.startTask(run, work);
      await within(began.promise, 'the work to begin');
      await untilStatus(fx().registry, run.runId, 'running');
      expect(fx().registry.getRun(run.runId)?.startedAt).toBeInstanceOf(Date);
      release.resolve();
    });

    it('a completed run carries startedAt <= completedAt and a matching durationSeconds', async () => {
      const run = makeRun(`${mode}-timing`);
      fx().manager.startTask(run, async () => 42);
      await within(fx().manager.waitAll(), 'waitAll');
      assertTimestamps(fx().registry, run.runId);
    });
  });

  describe('failure', () => {
    it('a rejecting work marks the run failed with the error message, and waitAll does not reject', async () => {
      const run = makeRun(`${mode}-fail`);
      fx().manager.startTask(run, async () => {
        throw new Error('the report server is down');
      });
      await expect(within(fx().manager.waitAll(), 'waitAll')).resolves.toBeUndefined();
      const failed = fx().registry.getRun(run.runId);
      expect(failed).toMatchObject({ status: 'failed', errorMessage: 'the report server is down' });
      expect(failed?.exitCode).not.toBe(0);
      assertTimestamps(fx().registry, run.runId);
    });

    it('a work rejecting with a non-Error value fails the run with a message naming that value', async () => {
      const run = makeRun(`${mode}-fail-string`);
      // eslint-disable-next-line prefer-promise-reject-errors -- legacy code does reject with strings
      fx().manager.startTask(run, () => Promise.reject('quota exceeded'));
      await within(fx().manager.waitAll(), 'waitAll');
      const failed = fx().registry.getRun(run.runId);
      expect(failed?.status).toBe('failed');
      expect(failed?.errorMessage).toContain('quota exceeded');
    });

    it('a work that throws before returning a promise fails the run instead of reaching the caller', async () => {
      const run = makeRun(`${mode}-fail-sync`);
      const work = (() => {
        throw new Error('thrown synchronously');
      }) as unknown as TaskWork;
      expect(() => fx().manager.startTask(run, work)).not.toThrow();
      await within(fx().manager.waitAll(), 'waitAll');
      expect(fx().registry.getRun(run.runId)).toMatchObject({ status: 'failed', errorMessage: 'thrown synchronously' });
    });
  });

  describe('cancel', () => {
    it('a run cancelled right after startTask is marked cancelled and its work never runs', async () => {
      let ran = false;
      const run = makeRun(`${mode}-cancel-early`);
      fx().manager.startTask(run, async () => {
        ran = true;
      });
      await expect(within(fx().manager.cancelTask(run.runId), 'cancelTask')).resolves.toBe(true);
      expect(fx().manager.isTaskActive(run.runId)).toBe(false);
      const cancelled = fx().registry.getRun(run.runId);
      expect(cancelled?.status).toBe('cancelled');
      expect(cancelled?.completedAt).toBeInstanceOf(Date);
      await within(fx().manager.waitAll(), 'waitAll');
      await turns();
      expect(ran).toBe(false);
      expect(fx().registry.getRun(run.runId)?.status).toBe('cancelled');
    });

    it('cancelling a running run aborts its signal, waits for the work to settle and marks it cancelled', async () => {
      const began = deferred<TaskContext>();
      let settled = false;
      const run = makeRun(`${mode}-cancel-running`);
      fx().manager.startTask(run, async (ctx) => {
        began.resolve(ctx);
        try {
          await new Promise<void>((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
        } finally {
          settled = true;
        }
      });
      const ctx = await within(began.promise, 'the work to begin');
      await untilStatus(fx().registry, run.runId, 'running');
      await expect(within(fx().manager.cancelTask(run.runId), 'cancelTask')).resolves.toBe(true);
      expect(ctx.signal.aborted).toBe(true);
      expect(settled).toBe(true);
      const cancelled = fx().registry.getRun(run.runId);
      expect(cancelled?.status).toBe('cancelled');
      expect(cancelled?.completedAt).toBeInstanceOf(Date);
      expect(fx().manager.isTaskActive(run.runId)).toBe(false);
      await within(fx().manager.waitAll(), 'waitAll');
      expect(fx().registry.getRun(run.runId)?.status).toBe('cancelled');
    });

    it('a result arriving after cancellation does not change the status, and cancel waits for it', async () => {
      const { work, began, release } = gatedWork('late result');
      const run = makeRun(`${mode}-cancel-late`);
      fx().manager.startTask(run, work);
      await within(began.promise, 'the work to begin');
      await untilStatus(fx().registry, run.runId, 'running');
      let cancelResolved = false;
      const cancelling = fx().manager.cancelTask(run.runId).then((v) => {
        cancelResolved = true;
        return v;
      });
      await turns();
      // The work ignores its signal and is still going, so cancelTask must not have resolved yet.
      expect(cancelResolved).toBe(false);
      release.resolve();
      await expect(within(cancelling, 'cancelTask')).resolves.toBe(true);
      await within(fx().manager.waitAll(), 'waitAll');
      await turns();
      expect(fx().registry.getRun(run.runId)?.status).toBe('cancelled');
    });

    it('a failure arriving after cancellation does not change the status either', async () => {
      const began = deferred<void>();
      const fail = gate<void>();
      const run = makeRun(`${mode}-cancel-late-fail`);
      fx().manager.startTask(run, async () => {
        began.resolve();
        await fail.promise;
        throw new Error('too late');
      });
      await within(began.promise, 'the work to begin');
      await untilStatus(fx().registry, run.runId, 'running');
      const cancelling = fx().manager.cancelTask(run.runId);
      fail.resolve();
      await expect(within(cancelling, 'cancelTask')).resolves.toBe(true);
      await within(fx().manager.waitAll(), 'waitAll');
      expect(fx().registry.getRun(run.runId)?.status).toBe('cancelled');
    });

    it('cancelTask resolves false for an unknown run, a finished run, and a second cancel', async () => {
      await expect(fx().manager.cancelTask(`${mode}-no-such-run`)).resolves.toBe(false);
      const done = makeRun(`${mode}-cancel-done`);
      fx().manager.startTask(done, async () => undefined);
      await within(fx().manager.waitAll(), 'waitAll');
      await expect(fx().manager.cancelTask(done.runId)).resolves.toBe(false);
      expect(fx().registry.getRun(done.runId)?.status).toBe('completed');

      const twice = makeRun(`${mode}-cancel-twice`);
      fx().manager.startTask(twice, async () => undefined);
      await expect(within(fx().manager.cancelTask(twice.runId), 'cancelTask')).resolves.toBe(true);
      await expect(within(fx().manager.cancelTask(twice.runId), 'second cancelTask')).resolves.toBe(false);
    });
  });

}
