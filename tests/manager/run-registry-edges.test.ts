import { InvalidInputError } from '../../src/core/errors';
import { RunRegistry, type Run } from '../../src/manager';

const T0 = Date.UTC(2026, 0, 1);

function run(runId: string, overrides: Partial<Run> = {}): Run {
  return {
    runId,
    moduleId: 'import',
    moduleName: 'Import',
    status: 'running',
    createdAt: new Date(T0),
    parameters: { file: 'a.csv' },
    ...overrides,
  };
}

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
