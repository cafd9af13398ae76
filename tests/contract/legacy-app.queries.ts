import { DuplicateRunError } from '../../src/core/errors';
import type { TaskWork } from '../../src/manager';
import { deferred, expectInvalid, makeRun, tryMutate, turns, until, within } from './legacy-app.helpers';
import type { SuiteContext } from './legacy-app.suite';

/** waitAll, active runs, progress, duplicate ids, invalid input and registry reads. */
export function describeQueries({ mode, fx, gate, gatedWork }: SuiteContext): void {
  describe('waitAll and active runs', () => {
    it('waitAll resolves only when every started run has settled, failures included', async () => {
      const a = gatedWork();
      const b = gatedWork();
      const runs = [makeRun(`${mode}-wait-a`), makeRun(`${mode}-wait-b`), makeRun(`${mode}-wait-c`)];
      fx().manager.startTask(runs[0], a.work);
      fx().manager.startTask(runs[1], b.work);
      fx().manager.startTask(runs[2], async () => {
        throw new Error('c fails');
      });
      let waited = false;
      const waiting = fx().manager.waitAll().then(() => {
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
      expect(runs.map((r) => fx().registry.getRun(r.runId)?.status)).toEqual(['completed', 'completed', 'failed']);
    });

    it('waitAll with nothing started resolves', async () => {
      await expect(within(fx().manager.waitAll(), 'waitAll')).resolves.toBeUndefined();
    });

    it('getActiveTaskCount, getActiveTaskIds and isTaskActive follow runs from startTask to settled', async () => {
      const works = [gatedWork(), gatedWork(), gatedWork()];
      const runs = works.map((_, i) => makeRun(`${mode}-active-${i}`));
      runs.forEach((run, i) => fx().manager.startTask(run, works[i].work));
      expect(fx().manager.getActiveTaskCount()).toBe(3);
      expect([...fx().manager.getActiveTaskIds()].sort()).toEqual(runs.map((r) => r.runId).sort());
      for (const run of runs) expect(fx().manager.isTaskActive(run.runId)).toBe(true);
      expect(fx().manager.isTaskActive(`${mode}-never-started`)).toBe(false);
      expect(fx().registry.getActiveRuns().map((r) => r.runId).sort()).toEqual(runs.map((r) => r.runId).sort());

      await within(works[0].began.promise, 'the first work to begin');
      // The second work ignores its signal: cancelTask waits for it, so let it finish.
      const cancelling = fx().manager.cancelTask(runs[1].runId);
      works[1].release.resolve();
      await expect(within(cancelling, 'cancelTask')).resolves.toBe(true);
      expect(fx().manager.getActiveTaskCount()).toBe(2);
      expect(fx().manager.getActiveTaskIds()).not.toContain(runs[1].runId);

      works[0].release.resolve();
      works[2].release.resolve();
      await within(fx().manager.waitAll(), 'waitAll');
      expect(fx().manager.getActiveTaskCount()).toBe(0);
      expect(fx().manager.getActiveTaskIds()).toEqual([]);
      for (const run of runs) expect(fx().manager.isTaskActive(run.runId)).toBe(false);
    });
  });

  describe('progress', () => {
    it('reportProgress updates progressPercent, itemsProcessed and itemsTotal', async () => {
      const reported = deferred<void>();
      const finish = gate<void>();
      const run = makeRun(`${mode}-progress`);
      fx().manager.startTask(run, async (ctx) => {
        ctx.reportProgress({ itemsTotal: 10 });
        ctx.reportProgress({ percent: 40, itemsProcessed: 4 });
        reported.resolve();
        await finish.promise;
      });
      await within(reported.promise, 'progress to be reported');
      await until(() => fx().registry.getRun(run.runId)?.progressPercent === 40, 'progressPercent 40');
      expect(fx().registry.getRun(run.runId)).toMatchObject({ progressPercent: 40, itemsProcessed: 4, itemsTotal: 10 });
      finish.resolve();
      await within(fx().manager.waitAll(), 'waitAll');
      expect(fx().registry.getRun(run.runId)?.status).toBe('completed');
    });
  });

  describe('duplicate run id', () => {
    it('starting a run id that is still active throws DuplicateRunError and leaves the first run alone', async () => {
      const first = gatedWork();
      const run = makeRun(`${mode}-dup`);
      fx().manager.startTask(run, first.work);
      let secondRan = false;
      expect(() =>
        fx().manager.startTask({ ...run }, async () => {
          secondRan = true;
        }),
      ).toThrow(DuplicateRunError);
      first.release.resolve();
      await within(fx().manager.waitAll(), 'waitAll');
      expect(secondRan).toBe(false);
      expect(first.calls()).toBe(1);
      expect(fx().registry.getRun(run.runId)?.status).toBe('completed');
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
      const run = makeRun(`${mode}-invalid`, override as never);
      expectInvalid(() => fx().manager.startTask(run, async () => undefined), field);
      expect(fx().manager.getActiveTaskCount()).toBe(0);
    });

    it.each(badParameters)('parameters holding %s are refused with a typed error naming parameters', (_label, parameters) => {
      const run = makeRun(`${mode}-invalid-params`, { parameters });
      expectInvalid(() => fx().manager.startTask(run, async () => undefined), 'parameters');
      expect(fx().registry.getRun(run.runId)).toBeUndefined();
      expect(fx().manager.isTaskActive(run.runId)).toBe(false);
    });

    it('parameters holding a Date are accepted', async () => {
      const run = makeRun(`${mode}-date-param`, { parameters: { since: new Date('2026-01-01T00:00:00Z') } });
      fx().manager.startTask(run, async () => undefined);
      await within(fx().manager.waitAll(), 'waitAll');
      expect(fx().registry.getRun(run.runId)?.status).toBe('completed');
    });

    it('parameters with keys set to undefined are accepted, as an object the legacy manager took as is', async () => {
      // `{ since: opts.since }` with no `since` given: common in legacy code, and JSON simply has no such key.
      const run = makeRun(`${mode}-undefined-param`, { parameters: { since: undefined, filter: { region: undefined, day: 3 } } });
      fx().manager.startTask(run, async () => undefined);
      await within(fx().manager.waitAll(), 'waitAll');
      const stored = fx().registry.getRun(run.runId);
      expect(stored?.status).toBe('completed');
      expect(stored?.parameters.since).toBeUndefined();
      expect(stored?.parameters.filter).toMatchObject({ day: 3 });
    });

    it('a work that is not a function is refused with a typed error naming work', () => {
      const run = makeRun(`${mode}-invalid-work`);
      expectInvalid(() => fx().manager.startTask(run, 'not a function' as unknown as TaskWork), 'work');
      expect(fx().manager.isTaskActive(run.runId)).toBe(false);
    });
  });

  describe('registry reads', () => {
    it('mutating a run returned by the registry does not change the registry', async () => {
      const run = makeRun(`${mode}-copy`, { moduleId: `${mode}-copy-module` });
      fx().manager.startTask(run, async () => undefined);
      await within(fx().manager.waitAll(), 'waitAll');
      // A snapshot, not a read: if getRun handed out the stored object, `before` would change with it.
      const before = structuredClone(fx().registry.getRun(run.runId));
      const reads = [
        fx().registry.getRun(run.runId),
        fx().registry.getRunsByModule(run.moduleId)[0],
        fx().registry.getRunsByStatus('completed').find((r) => r.runId === run.runId),
        fx().registry.getRecentRuns().find((r) => r.runId === run.runId),
      ];
      for (const copy of reads) {
        expect(copy).toBeDefined();
        tryMutate(copy as unknown as Record<string, unknown>);
      }
      expect(fx().registry.getRun(run.runId)).toEqual(before);
    });

    it('getRunsByModule, getRunsByStatus and getRecentRuns see the runs the manager started', async () => {
      const moduleId = `${mode}-module-${Date.now()}`;
      const ok = makeRun(`${mode}-q-ok`, { moduleId, createdAt: new Date(Date.now() - 1000) });
      const bad = makeRun(`${mode}-q-bad`, { moduleId });
      fx().manager.startTask(ok, async () => undefined);
      fx().manager.startTask(bad, async () => {
        throw new Error('no');
      });
      await within(fx().manager.waitAll(), 'waitAll');
      expect(fx().registry.getRunsByModule(moduleId).map((r) => r.runId).sort()).toEqual([ok.runId, bad.runId].sort());
      expect(fx().registry.getRunsByStatus('failed').map((r) => r.runId)).toContain(bad.runId);
      expect(fx().registry.getRunsByStatus('completed').map((r) => r.runId)).toContain(ok.runId);
      const recent = fx().registry.getRecentRuns().map((r) => r.runId);
      expect(recent.indexOf(bad.runId)).toBeLessThan(recent.indexOf(ok.runId));
    });
  });
}
