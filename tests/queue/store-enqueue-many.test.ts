import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { ManualClock } from '../../src/core/clock';
import { openDatabase } from '../../src/queue/sqlite/connection';
import { resolveSqliteStoreOptions } from '../../src/queue/sqlite/options';
import { INSERT_CHUNK_ROWS, EnqueueSql } from '../../src/queue/sqlite/sql/enqueue';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import type { EnqueueRequest } from '../../src/queue/types';
import { normalizeEnqueueRequest, type NormalizedEnqueue } from '../../src/queue/validation';

// EnqueueSql.insertMany writes runs of key-less requests with multi-row INSERTs and derives each
// row's id from the statement's last one. It must return exactly what insertOne row by row returns,
// and leave the same rows behind. Checked against get() of a store on the same file and against a
// second database filled with insertOne from the same state.

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const NOW = 1_700_000_000_000;
const C = INSERT_CHUNK_ROWS;

interface Db {
  dir: string;
  file: string;
  db: Database.Database;
  sql: EnqueueSql;
}

function openDb(chunkRows?: number): Db {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-enqueue-many-'));
  const file = path.join(dir, 'q.db');
  const db = openDatabase(resolveSqliteStoreOptions({ path: file, logger: quiet }));
  return { dir, file, db, sql: chunkRows === undefined ? new EnqueueSql(db) : new EnqueueSql(db, chunkRows) };
}

/** Every field varies with i, so a task paired with the wrong id or position cannot pass for the right one. */
function keyless(i: number): EnqueueRequest {
  return {
    type: `t${i}`, payload: { i, text: `é ✓ ${i}` }, queue: i % 3 === 0 ? 'a' : 'b', priority: i % 7,
    maxAttempts: 1 + (i % 5), delay: i * 10, ...(i % 4 === 0 ? { timeout: 1000 + i } : {}),
    ...(i % 5 === 0 ? { requires: { region: `r${i}` } } : {}),
    ...(i % 6 === 0 ? { backoff: { base: 100 + i, factor: 1.5, cap: 60_000, jitter: 0.25 } } : {}),
  };
}

const normalize = (requests: readonly EnqueueRequest[]): NormalizedEnqueue[] =>
  requests.map((r, i) => normalizeEnqueueRequest(r, NOW, 1 << 20, `requests[${i}]`));

/** Ids 1..6 used (3 holds the key 'old'), 5 and 6 deleted: the next id is 7 (AUTOINCREMENT), not 5. */
const FIRST_ID = 7;
const SEEDED_QUEUED = 4;
function seed(d: Db): void {
  const requests = [keyless(1000), keyless(1001), { type: 'old', idempotencyKey: 'old' }, keyless(1002), keyless(1003), keyless(1004)];
  d.db.transaction(() => normalize(requests).forEach((n) => d.sql.insertOne(n, NOW - 1))).immediate();
  d.db.prepare('DELETE FROM tasks WHERE id IN (5, 6)').run();
}

const dump = (db: Database.Database) => ({
  tasks: db.prepare('SELECT * FROM tasks ORDER BY id').all(),
  levels: db.prepare('SELECT * FROM queue_levels WHERE queued_count <> 0 ORDER BY queue, priority').all(),
  seq: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'tasks'").get(),
});

describe('EnqueueSql.insertMany', () => {
  let opened: Db[];
  let store: SqliteTaskStore;
  let main: Db;
  let reference: Db;
  const open = (chunkRows?: number): Db => {
    const d = openDb(chunkRows);
    opened.push(d);
    seed(d);
    return d;
  };
  beforeEach(() => {
    opened = [];
    main = open();
    reference = open();
    store = createSqliteTaskStore({ path: main.file, clock: new ManualClock(NOW), logger: quiet });
  });
  afterEach(async () => {
    await store.close();
    for (const d of opened) {
      d.db.close();
      fs.rmSync(d.dir, { recursive: true, force: true });
    }
  });

  /** Runs the batch through insertMany on `d` and insertOne row by row on the reference; checks they agree. */
  function checkAgainstInsertOne(d: Db, requests: readonly EnqueueRequest[]) {
    const list = normalize(requests);
    const many = d.db.transaction(() => d.sql.insertMany(list, NOW)).immediate();
    const one = reference.db.transaction(() => list.map((n) => reference.sql.insertOne(n, NOW))).immediate();
    expect(many).toHaveLength(requests.length);
    expect(many).toEqual(one);
    expect(dump(d.db)).toEqual(dump(reference.db));
    return many;
  }

  function checkLevels(db: Database.Database): void {
    const counted = db.prepare(`SELECT queue, priority, COUNT(*) AS queued_count FROM tasks WHERE status = 'queued'
                                GROUP BY queue, priority ORDER BY queue, priority`).all();
    expect(dump(db).levels).toEqual(counted);
  }

  it.each([0, 1, C - 1, C, C + 1, 3 * C + 7])('a key-less batch of %i: ids and every field equal get(), in input order', (size) => {
    const requests = Array.from({ length: size }, (_, i) => keyless(i));
    const results = checkAgainstInsertOne(main, requests);
    results.forEach((r, i) => {
      expect(r.created).toBe(true);
      expect(r.task.type).toBe(`t${i}`);
      expect(r.task.id).toBe(FIRST_ID + i);
      expect(store.getSync(r.task.id)).toEqual(r.task);
    });
    expect(store.getSync(FIRST_ID + size)).toBeUndefined();
    checkLevels(main.db);
    expect(store.countsSync().byStatus.queued).toBe(SEEDED_QUEUED + size);
  });

  it('one multi-row INSERT gets consecutive ids ascending in VALUES order (the claim the id derivation rests on)', () => {
    const list = normalize(Array.from({ length: C }, (_, i) => keyless(i)));
    const { before, info } = main.db.transaction(() => {
      const before = (main.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'tasks'").get() as { seq: number }).seq;
      const values = Array.from({ length: C }, () => "(?, 'x', ?, 0, 'queued', 1, 0, 0, 0, 0, 0, 0)").join(', ');
      const info = main.db.prepare(`INSERT INTO tasks (queue, type, payload, priority, status, max_attempts, run_after, created_at,
        backoff_base_ms, backoff_factor, backoff_cap_ms, backoff_jitter) VALUES ${values}`)
        .run(list.flatMap((n, i) => [n.queue, JSON.stringify(i)]));
      return { before, info };
    }).immediate();
    expect(info.changes).toBe(C);
    expect(Number(info.lastInsertRowid)).toBe(before + C);
    const rows = main.db.prepare('SELECT id, payload FROM tasks WHERE id > ? ORDER BY id').all(before) as { id: number; payload: string }[];
    expect(rows).toEqual(list.map((_, i) => ({ id: before + 1 + i, payload: JSON.stringify(i) })));
  });

  it('mixed keyed and key-less: a key repeated in the batch and a stored key return the holder with created=false', () => {
    const requests: EnqueueRequest[] = [
      { type: 'k-first', idempotencyKey: 'k1', payload: 'first' },
      ...Array.from({ length: C + 2 }, (_, i) => keyless(i)),
      { type: 'k-again', idempotencyKey: 'k1', payload: 'second' },
      keyless(500),
      { type: 'stored', idempotencyKey: 'old' },
      { type: 'k2-in-a', queue: 'a', idempotencyKey: 'k2' },
      { type: 'k2-in-b', queue: 'b', idempotencyKey: 'k2' },
      ...Array.from({ length: 2 * C + 1 }, (_, i) => keyless(600 + i)),
      { type: 'k-third', idempotencyKey: 'k1' },
      keyless(900),
    ];
    const results = checkAgainstInsertOne(main, requests);
    const first = results[0]!;
    expect(first.created).toBe(true);
    expect(results[C + 3]).toEqual({ task: first.task, created: false });
    expect(results[requests.length - 2]).toEqual({ task: first.task, created: false });
    const stored = results[C + 5]!;
    expect(stored.created).toBe(false);
    expect(stored.task.type).toBe('old');
    expect(stored.task.createdAt.getTime()).toBe(NOW - 1);
    expect(results[C + 6]!.created).toBe(true);
    expect(results[C + 7]!.created).toBe(true);
    results.forEach((r, i) => {
      if (r.created) expect(r.task.type).toBe(requests[i]!.type);
      expect(store.getSync(r.task.id)).toEqual(r.task);
    });
    // Ascending, not gapless: an INSERT skipped by DO NOTHING still uses up an AUTOINCREMENT id (as row by row).
    const createdIds = results.filter((r) => r.created).map((r) => r.task.id);
    expect(createdIds).toEqual([...createdIds].sort((a, b) => a - b));
    expect(new Set(createdIds).size).toBe(createdIds.length);
    checkLevels(main.db);
  });

  it.each([1, 2, 3, 5])('chunks of %i rows cross every chunk edge and remainder size the same way', (chunkRows) => {
    const d = open(chunkRows);
    const requests: EnqueueRequest[] = [];
    for (let run = 0; run < 12; run++) {
      for (let i = 0; i < run; i++) requests.push(keyless(run * 100 + i));
      requests.push({ type: `key${run % 4}`, idempotencyKey: `key${run % 4}` });
    }
    const results = checkAgainstInsertOne(d, requests);
    results.forEach((r, i) => {
      if (r.created) expect(r.task.type).toBe(requests[i]!.type);
    });
    checkLevels(d.db);
  });

  it('a second batch continues after the first: ids stay unique and match the rows', () => {
    checkAgainstInsertOne(main, Array.from({ length: C + 3 }, (_, i) => keyless(i)));
    const second = checkAgainstInsertOne(main, Array.from({ length: 2 * C - 1 }, (_, i) => keyless(300 + i)));
    expect(second[0]!.task.id).toBe(FIRST_ID + C + 3);
    second.forEach((r) => expect(store.getSync(r.task.id)).toEqual(r.task));
  });

  it('refuses to run outside a transaction', () => {
    expect(() => main.sql.insertMany(normalize([keyless(1)]), NOW)).toThrow(/inside an IMMEDIATE transaction/);
    expect(store.countsSync().byStatus.queued).toBe(SEEDED_QUEUED);
  });

  it('a row that violates a constraint aborts the statement instead of being skipped; the transaction leaves nothing', () => {
    const list = normalize(Array.from({ length: C + 5 }, (_, i) => keyless(i)));
    const bad = { ...list[C + 2]!, type: null } as unknown as NormalizedEnqueue;
    const withBad = [...list.slice(0, C + 2), bad, ...list.slice(C + 3)];
    expect(() => main.db.transaction(() => main.sql.insertMany(withBad, NOW)).immediate()).toThrow(/NOT NULL/);
    expect(store.countsSync().byStatus.queued).toBe(SEEDED_QUEUED);
    checkLevels(main.db);
  });
});
