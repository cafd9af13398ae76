import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ManualClock } from '../../src/core/clock';
import { InvalidOptionError } from '../../src/core/errors';
import { health, type HealthOptions } from '../../src/queue/health';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { thrownBy } from '../support/thrown';

const silent = { error() {}, warn() {}, info() {}, debug() {} };

describe('health() on files that are not a populated taskbridge database, and on bad options', () => {
  let dir: string;
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-health-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A queue file with one task, closed. */
  async function queueFile(): Promise<string> {
    const file = path.join(dir, 'q.db');
    const store = createSqliteTaskStore({ path: file, clock, logger: silent });
    await store.enqueue({ type: 't' });
    await store.close();
    return file;
  }

  it('an empty file reads as an empty queue (as stats, list and serve read it): healthy, one database check', () => {
    const file = path.join(dir, 'empty.db');
    fs.writeFileSync(file, '');
    const report = health({ path: file, clock });
    expect(report.checks.filter((c) => c.name === 'database')).toEqual([{ name: 'database', status: 'ok', message: expect.any(String) }]);
    expect(report).toMatchObject({ healthy: true, reasons: [], deadLastHour: 0, staleWorkers: [] });
  });

  it('an SQLite file without a taskbridge schema version (user_version 0) reads as an empty queue too', () => {
    const file = path.join(dir, 'other.db');
    const db = new Database(file);
    db.exec('CREATE TABLE notes (body TEXT)');
    db.close();
    const report = health({ path: file, clock });
    expect(report.checks.filter((c) => c.name === 'database').map((c) => c.status)).toEqual(['ok']);
    expect(report.healthy).toBe(true);
  });

  it('a file with a schema version but no task tables fails with one database check, not an ok one beside it', () => {
    const file = path.join(dir, 'foreign.db');
    const db = new Database(file);
    db.exec('CREATE TABLE notes (body TEXT)');
    db.pragma('user_version = 3');
    db.close();
    const report = health({ path: file, clock });
    expect(report.checks.filter((c) => c.name === 'database')).toEqual([
      { name: 'database', status: 'fail', message: expect.stringMatching(/^cannot read .*foreign\.db: .*no such table/) },
    ]);
    expect(report.healthy).toBe(false);
    expect(report.deadLastHour).toBeNull();
  });

  it.each<[keyof HealthOptions, unknown, RegExp]>([
    ['maxWalBytes', Number.NaN, /a non-negative number of bytes/],
    ['maxWalBytes', -1, /a non-negative number of bytes/],
    ['maxStaleWorkers', Number.NaN, /an integer from 0 to/],
    ['maxStaleWorkers', 1.5, /an integer from 0 to/],
    ['maxDeadLastHour', -1, /an integer from 0 to/],
    ['maxDeadLastHour', '3', /an integer from 0 to/],
    ['staleAfterMs', Number.NaN, /non-negative number of milliseconds/],
    ['staleAfterMs', -5, /non-negative number of milliseconds/],
    ['path', '', /a non-empty path of a database file/],
    ['path', 42, /a non-empty path of a database file/],
  ])('refuses %s = %p with InvalidOptionError naming the option, the value and what is accepted', async (field, value, accepted) => {
    const file = await queueFile();
    const error = thrownBy(() => health({ path: file, clock, [field]: value } as HealthOptions));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ code: 'TASKBRIDGE_INVALID_OPTION', field });
    expect((error as Error).message).toMatch(accepted);
  });
});
