import { ManualClock } from '../../src/core/clock';
import { DuplicateRunError, InvalidInputError } from '../../src/core/errors';
import { RunRegistry, type Run, type RunChangeKind } from '../../src/manager';
import { T0, runRecord } from './run-records';

const DAY = 24 * 60 * 60 * 1000;
const run = runRecord;

describe('RunRegistry', () => {
  it('can be constructed with no arguments, as legacy code does', () => {
    const registry = new RunRegistry();
    registry.addRun(run('r1'));
    expect(registry.getRun('r1')?.runId).toBe('r1');
  });

  it('addRun of a runId already present throws DuplicateRunError and keeps the first run', () => {
    const registry = new RunRegistry();
    registry.addRun(run('r1', { moduleName: 'first' }));
    expect(() => registry.addRun(run('r1', { moduleName: 'second' }))).toThrow(DuplicateRunError);
    expect(registry.getRun('r1')?.moduleName).toBe('first');
  });

  it('addRun without a runId throws InvalidInputError naming runId', () => {
    const registry = new RunRegistry();
    expect(() => registry.addRun(run(''))).toThrow(/runId/);
    expect(() => registry.addRun(run(undefined as unknown as string))).toThrow(InvalidInputError);
  });

  it('updateRun merges the patch and returns the updated run; undefined for an unknown id', () => {
    const registry = new RunRegistry();
    registry.addRun(run('r1'));
    const updated = registry.updateRun('r1', { status: 'running', startedAt: new Date(T0 + 5) });
    expect(updated).toMatchObject({ runId: 'r1', moduleId: 'import', status: 'running', startedAt: new Date(T0 + 5) });
    expect(registry.getRun('r1')).toEqual(updated);
    expect(registry.updateRun('missing', { status: 'failed' })).toBeUndefined();
  });

  it('updateRun removes a field patched to undefined and never changes the runId', () => {
    const registry = new RunRegistry();
    registry.addRun(run('r1', { errorMessage: 'old' }));
    registry.updateRun('r1', { errorMessage: undefined, runId: 'other' });
    const stored = registry.getRun('r1') as Run;
    expect('errorMessage' in stored).toBe(false);
    expect(stored.runId).toBe('r1');
    expect(registry.getRun('other')).toBeUndefined();
  });

  it('reads return deep copies: mutating a returned run, its parameters or its Dates changes nothing', () => {
    const registry = new RunRegistry();
    registry.addRun(run('r1', { completedAt: new Date(T0 + 1000), status: 'completed' }));
    const reads = [
      registry.getRun('r1') as Run,
      registry.getActiveRuns()[0] ?? (registry.getRunsByStatus('completed')[0] as Run),
      registry.getRunsByModule('import')[0],
      registry.getRecentRuns()[0],
    ];
    for (const copy of reads) {
      copy.status = 'failed';
      copy.createdAt.setUTCFullYear(1999);
      copy.completedAt?.setUTCFullYear(1999);
      (copy.parameters.opts as Record<string, unknown>).header = false;
      (copy.parameters.tags as string[]).push('y');
    }
    expect(registry.getRun('r1')).toEqual(run('r1', { completedAt: new Date(T0 + 1000), status: 'completed' }));
  });

  it('writes store copies: mutating the object passed to addRun or updateRun afterwards changes nothing', () => {
    const registry = new RunRegistry();
    const original = run('r1');
    registry.addRun(original);
    original.status = 'failed';
    (original.parameters.opts as Record<string, unknown>).header = false;
    const patch = { startedAt: new Date(T0) };
    registry.updateRun('r1', patch);
    patch.startedAt.setUTCFullYear(1999);
    expect(registry.getRun('r1')).toMatchObject({ status: 'queued', parameters: { opts: { header: true } }, startedAt: new Date(T0) });
  });

  it('getActiveRuns, getRunsByModule and getRunsByStatus filter as named', () => {
    const registry = new RunRegistry();
    registry.addRun(run('q', { status: 'queued' }));
    registry.addRun(run('r', { status: 'running', moduleId: 'export' }));
    registry.addRun(run('c', { status: 'completed' }));
    registry.addRun(run('f', { status: 'failed', moduleId: 'export' }));
    registry.addRun(run('x', { status: 'cancelled' }));
    const ids = (runs: Run[]): string[] => runs.map((r) => r.runId).sort();
    expect(ids(registry.getActiveRuns())).toEqual(['q', 'r']);
    expect(ids(registry.getRunsByModule('export'))).toEqual(['f', 'r']);
    expect(ids(registry.getRunsByModule('nothing'))).toEqual([]);
    expect(ids(registry.getRunsByStatus('cancelled'))).toEqual(['x']);
  });

  it('getRecentRuns returns the newest createdAt first, 50 by default, and honours a limit', () => {
    const registry = new RunRegistry();
    // Added out of order so the result must come from createdAt, not insertion order.
    registry.addRun(run('newest', { createdAt: new Date(T0 + 999_000) }));
    for (let k = 0; k < 60; k += 1) {
      const i = (k * 7) % 60; // 7 is coprime with 60: every index once, shuffled
      registry.addRun(run(`r${i}`, { createdAt: new Date(T0 + i * 1000) }));
    }
    const recent = registry.getRecentRuns();
    expect(recent).toHaveLength(50);
    expect(recent[0].runId).toBe('newest');
    expect(recent[1].runId).toBe('r59');
    expect(recent[49].runId).toBe('r11');
    expect(registry.getRecentRuns(2).map((r) => r.runId)).toEqual(['newest', 'r59']);
    expect(registry.getRecentRuns(0)).toEqual([]);
  });

  it('getRecentRuns breaks createdAt ties by the later added first', () => {
    const registry = new RunRegistry();
    registry.addRun(run('a'));
    registry.addRun(run('b'));
    expect(registry.getRecentRuns().map((r) => r.runId)).toEqual(['b', 'a']);
  });

  it('getRecentRuns refuses a negative or fractional limit', () => {
    const registry = new RunRegistry();
    expect(() => registry.getRecentRuns(-1)).toThrow(InvalidInputError);
    expect(() => registry.getRecentRuns(1.5)).toThrow(/limit/);
  });

  it('cleanupOldRuns removes finished runs completed more than `days` ago and returns how many', () => {
    const clock = new ManualClock(T0 + 100 * DAY);
    const registry = new RunRegistry({ clock });
    const now = clock.now();
    registry.addRun(run('old-done', { status: 'completed', completedAt: new Date(now - 31 * DAY) }));
    registry.addRun(run('old-failed', { status: 'failed', completedAt: new Date(now - 40 * DAY) }));
    registry.addRun(run('old-cancelled', { status: 'cancelled', completedAt: new Date(now - 30 * DAY - 1) }));
    registry.addRun(run('recent', { status: 'completed', completedAt: new Date(now - 29 * DAY) }));
    registry.addRun(run('exactly-30', { status: 'completed', completedAt: new Date(now - 30 * DAY) }));
    // Active runs stay whatever their dates say; so do finished runs without completedAt.
    registry.addRun(run('old-running', { status: 'running', completedAt: new Date(now - 90 * DAY) }));
    registry.addRun(run('no-date', { status: 'completed' }));

    expect(registry.cleanupOldRuns()).toBe(3);
    expect(registry.getRecentRuns().map((r) => r.runId).sort()).toEqual(['exactly-30', 'no-date', 'old-running', 'recent']);

    clock.advance(2 * DAY);
    expect(registry.cleanupOldRuns(30)).toBe(2);
    expect(registry.cleanupOldRuns(0)).toBe(0);
  });

  it('cleanupOldRuns(0) removes every finished run completed before now', () => {
    const clock = new ManualClock(T0);
    const registry = new RunRegistry({ clock });
    registry.addRun(run('done', { status: 'completed', completedAt: new Date(T0 - 1) }));
    expect(registry.cleanupOldRuns(0)).toBe(1);
    expect(registry.getRun('done')).toBeUndefined();
  });

  it('cleanupOldRuns refuses a negative or non-finite number of days', () => {
    const registry = new RunRegistry();
    expect(() => registry.cleanupOldRuns(-1)).toThrow(/days/);
    expect(() => registry.cleanupOldRuns(Number.NaN)).toThrow(InvalidInputError);
  });

  it('subscribe reports every change with a copy, and a throwing listener breaks nothing', () => {
    const clock = new ManualClock(T0);
    const errors: unknown[] = [];
    const logger = { error: (m: string) => errors.push(m), warn: () => undefined, info: () => undefined, debug: () => undefined };
    const registry = new RunRegistry({ clock, logger });
    const seen: Array<[string, string, RunChangeKind]> = [];
    const stop = registry.subscribe((r, kind) => {
      seen.push([r.runId, r.status, kind]);
      r.status = 'failed';
    });
    registry.subscribe(() => {
      throw new Error('listener bug');
    });
    registry.addRun(run('r1'));
    registry.updateRun('r1', { status: 'completed', completedAt: new Date(T0 - 40 * DAY) });
    registry.cleanupOldRuns();
    stop();
    registry.addRun(run('r2'));
    expect(seen).toEqual([
      ['r1', 'queued', 'added'],
      ['r1', 'completed', 'updated'],
      ['r1', 'completed', 'removed'],
    ]);
    expect(registry.getRun('r2')?.status).toBe('queued');
    expect(errors.length).toBe(4);
  });

  it('a listener that throws an unprintable value (a revoked Proxy) is logged, and addRun still returns', () => {
    const errors: unknown[] = [];
    const logger = { error: (m: string, meta?: unknown) => errors.push([m, meta]), warn: () => undefined, info: () => undefined, debug: () => undefined };
    const registry = new RunRegistry({ clock: new ManualClock(T0), logger });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    registry.subscribe(() => {
      throw proxy;
    });
    expect(() => registry.addRun(run('r1'))).not.toThrow();
    expect(registry.getRun('r1')?.status).toBe('queued');
    expect(errors).toHaveLength(1);
  });
});
