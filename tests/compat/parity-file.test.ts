import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { checkParityWithFile, SHADOW_QUEUE } from '../../src/compat';
import { SystemClock } from '../../src/core/clock';
import { TaskbridgeError } from '../../src/core/errors';
import { RunRegistry, type Run } from '../../src/manager';
import { openMirrorStore } from '../../src/queue/sqlite/mirror-store';
import { tempDb, type TempDb } from './helpers';

const digest = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const finished = (runId: string, at = new Date()): Run => {
  return { runId, moduleId: 'm', moduleName: 'M', status: 'completed', createdAt: at, startedAt: at, completedAt: at, exitCode: 0, parameters: {} };
};

/** What checkParityWithFile threw, or a failure when it returned. */
function thrownBy(registry: RunRegistry, dbPath: string): TaskbridgeError {
  try {
    checkParityWithFile(registry, dbPath);
  } catch (err) {
    return err as TaskbridgeError;
  }
  throw new Error(`checkParityWithFile(${dbPath}) returned instead of throwing`);
}

/** A mirror file in rollback-journal mode (no -wal beside it), holding one row per run id, many pages long. */
function mirrorFile(dbPath: string, runIds: readonly string[], now = Date.now()): void {
  const store = openMirrorStore(dbPath, new SystemClock());
  store.db.pragma('journal_mode = DELETE');
  store.upsertMany(SHADOW_QUEUE, runIds.map((key) => ({
    key, type: 'm', payload: { pad: 'x'.repeat(2000) }, status: 'completed' as const, createdAt: now, startedAt: now, finishedAt: now,
    lastError: null, progress: null, leaseOwner: null, leaseExpiresAt: null,
  })));
  store.close();
}

describe('checkParityWithFile only reads the file it is given', () => {
  let db: TempDb;
  beforeEach(() => (db = tempDb()));
  afterEach(() => db.remove());

  it('a mistyped path is a typed error naming it, and no database is created there', () => {
    const registry = new RunRegistry();
    registry.addRun(finished('a'));
    const typo = `${db.dbPath}.typo`;
    const err = thrownBy(registry, typo);
    expect(err).toBeInstanceOf(TaskbridgeError);
    expect(err.code).toBe('TASKBRIDGE_DATABASE_MISSING');
    expect(err.message).toContain(typo);
    expect(fs.existsSync(typo)).toBe(false);
    expect(fs.readdirSync(db.dir)).toEqual([]);
  });

  it('a file that is not SQLite is a typed error naming it, and is left as it was', () => {
    fs.writeFileSync(db.dbPath, 'notes, not a database\n'.repeat(50));
    const before = digest(db.dbPath);
    const err = thrownBy(new RunRegistry(), db.dbPath);
    expect({ code: err.code, named: err.message.includes(db.dbPath) }).toEqual({ code: 'TASKBRIDGE_NOT_A_DATABASE', named: true });
    expect(digest(db.dbPath)).toBe(before);
  });

  it('a database damaged past its first page is a typed error, not a raw SqliteError', () => {
    mirrorFile(db.dbPath, Array.from({ length: 40 }, (_, i) => `run-${i}`));
    const bytes = fs.readFileSync(db.dbPath);
    const pageSize = bytes.readUInt16BE(16);
    expect(bytes.length).toBeGreaterThan(4 * pageSize);
    // The schema page is intact, so the damage shows only when the mirror's rows are read.
    bytes.fill(0xab, pageSize);
    fs.writeFileSync(db.dbPath, bytes);
    const registry = new RunRegistry();
    registry.addRun(finished('run-0'));
    const err = thrownBy(registry, db.dbPath);
    expect({ type: err.constructor.name, code: err.code, named: err.message.includes(db.dbPath) }).toEqual({ type: 'NotADatabaseError', code: 'TASKBRIDGE_NOT_A_DATABASE', named: true });
  });

  it('a folder at the path is a typed error naming it', () => {
    fs.mkdirSync(db.dbPath);
    const err = thrownBy(new RunRegistry(), db.dbPath);
    expect({ code: err.code, named: err.message.includes(db.dbPath) }).toEqual({ code: 'TASKBRIDGE_DATABASE_UNAVAILABLE', named: true });
  });

  it('an empty file reads as an empty mirror, and stays empty', () => {
    fs.writeFileSync(db.dbPath, '');
    const registry = new RunRegistry();
    registry.addRun(finished('a'));
    expect(checkParityWithFile(registry, db.dbPath).mismatches).toEqual([{ runId: 'a', kind: 'missing-in-sqlite', registry: 'completed' }]);
    expect(fs.statSync(db.dbPath).size).toBe(0);
    expect(fs.readdirSync(db.dir)).toEqual([path.basename(db.dbPath)]);
  });

  it('a mirror in rollback-journal mode is compared and left byte for byte as it was (no WAL switch, no migration)', () => {
    const at = new Date();
    mirrorFile(db.dbPath, ['a', 'b'], at.getTime());
    const before = digest(db.dbPath);
    const registry = new RunRegistry();
    registry.addRun(finished('a', at));
    const report = checkParityWithFile(registry, db.dbPath, { reportUnknownRows: true });
    expect(report).toMatchObject({ checked: 1, matched: 1, mismatches: [{ runId: 'b', kind: 'missing-in-registry', sqlite: 'completed' }] });
    expect(digest(db.dbPath)).toBe(before);
    expect(fs.existsSync(`${db.dbPath}-wal`)).toBe(false);
  });
});
