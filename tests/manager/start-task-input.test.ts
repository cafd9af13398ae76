import { InvalidInputError } from '../../src/core/errors';
import { BackgroundTaskManager, MemoryRunExecutor, RunRegistry } from '../../src/manager';
import { makeRun } from '../contract/legacy-app.helpers';

function setup() {
  const registry = new RunRegistry();
  const executor = new MemoryRunExecutor(registry);
  return { registry, manager: new BackgroundTaskManager(registry, { executor }) };
}

class Point {
  constructor(readonly x: number) {}
}

/** Calls startTask and returns what it threw; fails the test if it did not throw. */
function refusal(parameters: unknown): InvalidInputError {
  const { registry, manager } = setup();
  const run = makeRun('refused', { parameters: parameters as never });
  let ran = false;
  let caught: unknown;
  try {
    manager.startTask(run, async () => {
      ran = true;
    });
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidInputError);
  // A refused run is neither recorded nor scheduled.
  expect(registry.getRun(run.runId)).toBeUndefined();
  expect(manager.getActiveTaskCount()).toBe(0);
  expect(ran).toBe(false);
  return caught as InvalidInputError;
}

describe('startTask refuses parameters that are not plain JSON data, naming where', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  it.each([
    ['a function', { cb: () => undefined }, 'parameters.cb'],
    ['a cycle', { a: cyclic }, 'parameters.a.self'],
    ['a BigInt', { n: 10n }, 'parameters.n'],
    ['a class instance', { p: new Point(1) }, 'parameters.p'],
    ['a Map', { m: new Map() }, 'parameters.m'],
    ['a Set', { s: new Set() }, 'parameters.s'],
    ['NaN', { x: Number.NaN }, 'parameters.x'],
    ['Infinity', { list: [1, Number.POSITIVE_INFINITY] }, 'parameters.list[1]'],
    ['a symbol value', { s: Symbol('s') }, 'parameters.s'],
    ['a symbol key', { [Symbol('k')]: 1 }, 'parameters'],
    ['an Invalid Date', { d: new Date('nope') }, 'parameters.d'],
  ])('%s', (_label, parameters, field) => {
    const err = refusal(parameters);
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
  });

  it('a getter that throws is refused as unreadable parameters, not rethrown raw', () => {
    const err = refusal({
      get total(): number {
        throw new Error('lazy total failed');
      },
    });
    expect(err.field).toBe('parameters');
    expect(err.message).toContain('lazy total failed');
  });

  it('a Proxy whose trap throws is refused the same way', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('ownKeys trap');
        },
      },
    );
    const err = refusal(hostile);
    expect(err.field).toBe('parameters');
    expect(err.message).toContain('ownKeys trap');
  });

  it('a Proxy of plain data, a null-prototype object and Dates are accepted and stored as plain copies', async () => {
    const { registry, manager } = setup();
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    const when = new Date(Date.UTC(2026, 0, 2));
    const run = makeRun('accepted', { parameters: { proxied: new Proxy({ b: [2] }, {}), bare, when } });
    manager.startTask(run, async () => undefined);
    await manager.waitAll();
    const stored = registry.getRun(run.runId)?.parameters as Record<string, unknown>;
    expect(stored).toEqual({ proxied: { b: [2] }, bare: { a: 1 }, when });
    expect(stored.when).not.toBe(when);
  });
});
