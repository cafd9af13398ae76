import { fromPayload, runFromRow, toPayload } from '../../src/compat/run-payload';
import type { Run } from '../../src/manager';

const row = (payload: unknown) => ({ key: 'r1', type: 'm', status: 'queued' as const, createdAt: Date.UTC(2026, 0, 2), startedAt: null, finishedAt: null, lastError: null, payload });

describe('run payloads', () => {
  it('a payload written by toPayload reads back with its starter', () => {
    const run: Run = { runId: 'r1', moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(Date.UTC(2026, 0, 1)), parameters: { n: 1 } };
    // Through JSON, as the store writes and reads it.
    const stored = JSON.parse(JSON.stringify(toPayload(run, 'tb-owner-a'))) as unknown;
    expect(fromPayload(stored)).toEqual({ parameters: { n: 1 }, moduleName: 'M', createdAt: run.createdAt, owner: 'tb-owner-a' });
  });

  it('a payload without a starter (an older row) reads back with the starter unknown', () => {
    const meta = fromPayload({ parameters: { n: 1 }, run: { moduleName: 'M', createdAt: '2026-01-01T00:00:00.000Z' } });
    expect(meta.owner).toBeUndefined();
    expect(meta.moduleName).toBe('M');
  });

  it('malformed run metadata from another producer is read as far as it goes, never thrown', () => {
    expect(() => fromPayload({ parameters: {}, run: null })).not.toThrow();
    expect(runFromRow(row({ parameters: { n: 1 }, run: null }))).toMatchObject({ runId: 'r1', moduleName: 'm', createdAt: new Date(Date.UTC(2026, 0, 2)) });
    const odd = fromPayload({ parameters: { n: 1 }, run: { moduleName: 7, createdAt: 5, owner: { id: 'x' } } });
    expect(odd).toEqual({ parameters: { n: 1 }, moduleName: undefined, createdAt: undefined, owner: undefined });
    expect(runFromRow(row({ parameters: {}, run: { moduleName: 7, owner: 3 } }))).toMatchObject({ moduleName: 'm', createdAt: new Date(Date.UTC(2026, 0, 2)) });
  });
});
