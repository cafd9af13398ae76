import vm from 'node:vm';
import { InvalidInputError } from '../../src/core/errors';
import type { Run, RunRegistry, RunStatus } from '../../src/manager';

/** A promise with its resolve/reject exposed, so a test decides when a piece of work finishes. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
  settled: boolean;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve: (v) => {
      d.settled = true;
      resolve(v);
    },
    reject: (r) => {
      d.settled = true;
      reject(r);
    },
  };
  return d;
}

/** Fails with `label` instead of hanging until jest's long default timeout. */
export async function within<T>(promise: Promise<T>, label: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${label}`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls until `predicate` holds. The contract says when a state is reached but not how fast a
 * backend gets there (sqlite mode claims runs asynchronously), so tests wait on state, bounded.
 */
export async function until(predicate: () => boolean, label: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Waits until the registry shows the run with `status`. */
export function untilStatus(registry: RunRegistry, runId: string, status: RunStatus, ms?: number): Promise<void> {
  return until(() => registry.getRun(runId)?.status === status, `run ${runId} to be ${status}`, ms);
}

/** Lets pending callbacks of the event loop run a few times. */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

let counter = 0;

/** A fresh run record with a unique id. */
export function makeRun(prefix: string, overrides: Partial<Run> = {}): Run {
  counter += 1;
  return {
    runId: `${prefix}-${process.pid}-${counter}`,
    moduleId: 'report',
    moduleName: 'Monthly report',
    status: 'queued',
    createdAt: new Date(),
    parameters: { month: '2026-01', ids: [1, 2, 3], nested: { deep: true } },
    ...overrides,
  };
}

/**
 * Collects unhandled rejections. jest runs tests in a vm context whose `process` is a copy that
 * never receives the event, so it listens on the real process (reached through the main context)
 * as well as the sandbox one.
 */
export function watchUnhandledRejections(): { seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => {
    seen.push(reason);
  };
  const targets = new Set<NodeJS.Process>([process]);
  try {
    targets.add(vm.runInThisContext('process') as NodeJS.Process);
  } catch {
    // Outside a vm sandbox the sandbox process is the real one; nothing more to watch.
  }
  for (const target of targets) target.on('unhandledRejection', listener);
  return {
    seen,
    stop: () => {
      for (const target of targets) target.off('unhandledRejection', listener);
    },
  };
}


export function expectInvalid(call: () => unknown, field: string): void {
  let caught: unknown;
  try {
    call();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidInputError);
  expect((caught as Error).message).toContain(field);
}

export function assertTimestamps(registry: RunRegistry, runId: string): void {
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
export function tryMutate(copy: Record<string, unknown>): void {
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
