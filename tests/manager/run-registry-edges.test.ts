import { InvalidInputError } from '../../src/core/errors';
import { RunRegistry, type Run } from '../../src/manager';
import { T0, runRecord } from './run-records';

/** This file's runs are running, with one parameter. */
const run = (runId: string, overrides: Partial<Run> = {}): Run =>
  runRecord(runId, { status: 'running', parameters: { file: 'a.csv' }, ...overrides });

describe('RunRegistry.updateRun patch edges', () => {
  it('a required field patched to undefined keeps its value, so the run stays findable', () => {
    const registry = new RunRegistry();
    registry.addRun(run('r1'));
    // The shape legacy code produces with optional arguments: { status: opts.status, ... }.
    const updated = registry.updateRun('r1', {
      status: undefined,
      createdAt: undefined,
      moduleId: undefined,
      moduleName: undefined,
      parameters: undefined,
      progressPercent: 10,
    });
    expect(updated).toMatchObject({ status: 'running', createdAt: new Date(T0), moduleId: 'import', moduleName: 'Import', parameters: { file: 'a.csv' }, progressPercent: 10 });
    expect(registry.getActiveRuns().map((r) => r.runId)).toEqual(['r1']);
    expect(registry.getRunsByStatus('running').map((r) => r.runId)).toEqual(['r1']);
    expect(registry.getRunsByModule('import').map((r) => r.runId)).toEqual(['r1']);
  });

  it.each([
    ['a string', 'abc'],
    ['a number', 5],
    ['an array', [{ status: 'failed' }]],
  ])('a patch that is %s is refused with InvalidInputError naming patch, and the run is unchanged', (_label, patch) => {
    const registry = new RunRegistry();
    registry.addRun(run('r1'));
    let caught: unknown;
    try {
      registry.updateRun('r1', patch as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as InvalidInputError).field).toBe('patch');
    expect(registry.getRun('r1')).toEqual(run('r1'));
  });
});

describe('RunRegistry copies of data that is not plain JSON', () => {
  it('addRun and updateRun of parameters with a cycle store a copy instead of overflowing the stack', () => {
    const registry = new RunRegistry();
    const cyclic: Record<string, unknown> = { name: 'root' };
    cyclic.self = cyclic;
    registry.addRun(run('r1', { parameters: cyclic }));
    const stored = registry.getRun('r1')?.parameters as Record<string, unknown>;
    expect(stored).not.toBe(cyclic);
    expect(stored.self).toBe(stored);
    const list: unknown[] = [];
    list.push(list);
    registry.updateRun('r1', { parameters: { list } });
    const list2 = (registry.getRun('r1')?.parameters as { list: unknown[] }).list;
    expect(list2[0]).toBe(list2);
  });

  it('a Map or Set stored with addRun is copied: mutating what getRun returned changes nothing', () => {
    const registry = new RunRegistry();
    registry.addRun(run('r1', { parameters: { ids: new Set([1]), byName: new Map([['a', { n: 1 }]]) } }));
    const read = registry.getRun('r1')?.parameters as { ids: Set<number>; byName: Map<string, { n: number }> };
    read.ids.add(2);
    read.byName.set('b', { n: 2 });
    (read.byName.get('a') as { n: number }).n = 99;
    const again = registry.getRun('r1')?.parameters as typeof read;
    expect([...again.ids]).toEqual([1]);
    expect([...again.byName]).toEqual([['a', { n: 1 }]]);
  });
});

describe('RunRegistry.getRecentRuns with runs that carry no valid createdAt', () => {
  it('keeps the dated runs newest first and lists the undated ones after them', () => {
    const registry = new RunRegistry();
    const undated: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      // addRun does not validate: legacy JS code may omit createdAt or store an unparsable string.
      // The epoch itself (time 0) is a date like any other.
      const createdAt = i % 3 === 1 ? (i % 2 === 0 ? undefined : 'not a date') : new Date(i === 0 ? 0 : T0 + ((i * 7) % 13));
      registry.addRun(run(`r${i}`, { createdAt: createdAt as never }));
      if (i % 3 === 1) undated.unshift(`r${i}`);
    }
    const recent = registry.getRecentRuns();
    const dated = recent.slice(0, 20 - undated.length).map((r) => (r.createdAt as Date).getTime());
    expect(dated).toEqual([...dated].sort((a, b) => b - a));
    expect(recent.slice(20 - undated.length).map((r) => r.runId)).toEqual(undated);
  });
});

describe('RunRegistry and a "__proto__" key in data parsed from JSON', () => {
  // JSON.parse makes "__proto__" an own data property: request bodies can carry one.
  const parsed = (): Record<string, unknown> => JSON.parse('{"a":1,"__proto__":{"isAdmin":true}}') as Record<string, unknown>;

  it('is stored as data: kept as an own key, not turned into the prototype, and reads stay copies', () => {
    const registry = new RunRegistry();
    registry.addRun(run('r1', { parameters: parsed() }));
    const read = registry.getRun('r1')?.parameters as Record<string, unknown>;
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(read.isAdmin).toBeUndefined();
    expect(JSON.stringify(read)).toBe('{"a":1,"__proto__":{"isAdmin":true}}');
    read.a = 99;
    expect(registry.getRun('r1')?.parameters).toEqual(parsed());
  });

  it('in an updateRun patch it changes nothing but the fields named', () => {
    const registry = new RunRegistry();
    registry.addRun(run('r1'));
    registry.updateRun('r1', JSON.parse('{"progressPercent":5,"__proto__":{"status":"completed"}}') as never);
    const stored = registry.getRun('r1') as Run;
    expect(Object.getPrototypeOf(stored)).toBe(Object.prototype);
    expect(stored).toEqual({ ...run('r1'), progressPercent: 5 });
  });
});
