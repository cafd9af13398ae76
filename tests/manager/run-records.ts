import type { Run } from '../../src/manager';

/** The instant the registry tests' runs are created at. */
export const T0 = Date.UTC(2026, 0, 1);

/** A legacy run record of module `import` created at {@link T0}; `overrides` replace any field. */
export function runRecord(runId: string, overrides: Partial<Run> = {}): Run {
  return {
    runId,
    moduleId: 'import',
    moduleName: 'Import',
    status: 'queued',
    createdAt: new Date(T0),
    parameters: { file: 'a.csv', opts: { header: true }, tags: ['x'] },
    ...overrides,
  };
}
