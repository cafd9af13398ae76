import type { BackgroundTaskManager, RunRegistry, TaskContext, TaskWork } from '../../src/manager';
import { deferred, turns, watchUnhandledRejections, within, type Deferred } from './legacy-app.helpers';
import { describeLifecycle } from './legacy-app.lifecycle';
import { describeQueries } from './legacy-app.queries';

/** What each mode's test file hands the suite: a manager, its registry, and how to clean up. */
export interface LegacyAppFixture {
  manager: BackgroundTaskManager;
  registry: RunRegistry;
  teardown(): Promise<void>;
}

/** Work that signals when it begins, then finishes when the test opens its gate. */
export interface GatedWork {
  work: TaskWork;
  began: Deferred<TaskContext>;
  release: Deferred<void>;
  calls(): number;
}

/** What the suite's sections share: the mode name, the current fixture and gate factories. */
export interface SuiteContext {
  mode: string;
  /** The fixture of the running test (a fresh one per test). */
  fx(): LegacyAppFixture;
  /** A promise the test resolves; afterEach opens any left closed so waitAll cannot hang. */
  gate<T = unknown>(): Deferred<T>;
  gatedWork(result?: unknown): GatedWork;
}

/**
 * The legacy application's view of taskbridge, written only against the contract
 * (shared/legacy-api.md). Every mode runs it unchanged; the mode is the only difference. No timing
 * is assumed beyond the contract: work waits on promises the test resolves, and "the work has
 * begun" is learned from inside the work (plus a bounded poll of the registry), never from a sleep.
 *
 * @param modeName shown in test names and used in run ids
 * @param setup builds a fresh manager and registry for each test; `teardown` releases them
 */
export function runLegacyAppSuite(modeName: string, setup: () => Promise<LegacyAppFixture>): void {
  describe(`legacy app contract (${modeName} mode)`, () => {
    let current: LegacyAppFixture | undefined;
    let gates: Deferred<unknown>[] = [];
    let rejections: ReturnType<typeof watchUnhandledRejections>;

    const gate = <T = unknown>(): Deferred<T> => {
      const d = deferred<T>();
      gates.push(d as Deferred<unknown>);
      return d;
    };

    const gatedWork = (result: unknown = 'done'): GatedWork => {
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

    const fx = (): LegacyAppFixture => {
      if (current === undefined) throw new Error('the legacy-app fixture is only available inside a test');
      return current;
    };

    beforeEach(async () => {
      gates = [];
      rejections = watchUnhandledRejections();
      current = await setup();
    });

    afterEach(async () => {
      for (const g of gates) if (!g.settled) g.resolve(undefined);
      const fixture = fx();
      current = undefined;
      await within(fixture.manager.waitAll(), 'waitAll in afterEach');
      await fixture.teardown();
      await turns();
      rejections.stop();
      expect(rejections.seen).toEqual([]);
    });

    const context: SuiteContext = { mode: modeName, fx, gate, gatedWork };
    describeLifecycle(context);
    describeQueries(context);
  });
}
