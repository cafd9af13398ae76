import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DatabaseUnavailableError, InvalidInputError, InvalidOptionError, NotADatabaseError, PayloadTooLargeError, SchemaTooNewError } from '../../src/core/errors';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { SCHEMA_VERSION } from '../../src/queue/sqlite/migrations';
import { fifo } from '../../src/strategies/ordered';
import type { TaskStore } from '../../src/queue/types';
import { storeFactories, type StoreHarness } from './store-factories';

const silent = { error() {}, warn() {}, info() {}, debug() {} };

/** Everything a caller can observe about the stored tasks, for before/after comparisons. */
async function dump(store: TaskStore): Promise<string> {
  return JSON.stringify([await store.list({ limit: 10_000, order: 'asc' }), await store.counts()]);
}

const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe.each(storeFactories)('bad input to the TaskStore ($name)', (factory) => {
  let h: StoreHarness;
  let store: TaskStore;
  let before: string;
  beforeEach(async () => {
    h = factory.create({ maxPayloadBytes: 1024 });
    store = h.store;
    await store.enqueueBatch([{ type: 'seed', payload: { n: 1 } }, { type: 'seed', priority: 3, idempotencyKey: 'k' }]);
    await store.claim({ workerId: 'w', limit: 1, leaseMs: 1000, strategy: fifo });
    before = await dump(store);
  });
  afterEach(async () => {
    expect(await dump(store)).toBe(before);
    await h.cleanup();
  });

  /** Asserts a typed error naming the field, the value and what is accepted. */
  async function refused(p: Promise<unknown>, type: Function, field: string | RegExp, accepted?: RegExp): Promise<void> {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    const e = err as { field: string; message: string };
    if (typeof field === 'string') expect(e.field).toBe(field);
    else expect(e.field).toMatch(field);
    expect(e.message).toContain(typeof field === 'string' ? field : e.field);
    expect(e.message).toMatch(/accepted: /);
    if (accepted) expect(e.message).toMatch(accepted);
  }

  it.each([
    ['a function', { f: () => 1 }, 'payload.f'],
    ['a BigInt', { n: 10n }, 'payload.n'],
    ['a class instance', { m: new Map() }, 'payload.m'],
    ['NaN', [1, Number.NaN], 'payload[1]'],
  ])('refuses a payload holding %s', async (_what, payload, field) => {
    await refused(store.enqueue({ type: 't', payload }), InvalidInputError, field, /plain JSON/);
  });

  it('refuses a payload or a result whose property cannot be read (a throwing getter), naming the field', async () => {
    const unreadable = { get secret(): never { throw new Error('revoked'); } };
    await refused(store.enqueue({ type: 't', payload: unreadable }), InvalidInputError, 'payload', /can be read/);
    const [held] = await store.list({ status: 'running' });
    // A handler result the worker could never store must be a refusal it can record, not a raw error.
    await refused(store.complete(held!.id, held!.leaseToken, unreadable), InvalidInputError, 'result', /can be read/);
  });

  it('refuses a cyclic payload', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await refused(store.enqueue({ type: 't', payload: cyclic }), InvalidInputError, 'payload.self');
  });

  it('refuses a payload over maxPayloadBytes with the sizes', async () => {
    const err = await store.enqueue({ type: 't', payload: 'é'.repeat(600) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as Error).message).toMatch(/payload: 1202 bytes.*at most 1024 bytes/);
  });

  it('refuses an unknown option, naming it and the known ones', async () => {
    await refused(store.enqueue({ type: 't', priorty: 1 } as never), InvalidOptionError, 'request.priorty', /priority/);
    await refused(store.enqueue({ type: 't', backoff: { bse: '1s' } } as never), InvalidOptionError, 'backoff.bse', /base/);
    await refused(store.list({ state: 'queued' } as never), InvalidOptionError, 'filter.state');
  });

  it.each([
    ['priority', { priority: -1 }],
    ['priority', { priority: 1.5 }],
    ['priority', { priority: 1_000_001 }],
    ['maxAttempts', { maxAttempts: 0 }],
    ['maxAttempts', { maxAttempts: 2.5 }],
    ['maxAttempts', { maxAttempts: '3' }],
  ])('refuses %s outside its integer range: %j', async (field, options) => {
    await refused(store.enqueue({ type: 't', ...(options as object) }), InvalidOptionError, field, /an integer from/);
  });

  it.each([
    ['delay', { delay: 'soon' }],
    ['delay', { delay: -5 }],
    ['timeout', { timeout: '5 parsecs' }],
    ['backoff.base', { backoff: { base: 'later' } }],
    ['backoff.cap', { backoff: { cap: Number.POSITIVE_INFINITY } }],
  ])('refuses an unparseable duration for %s', async (field, options) => {
    await refused(store.enqueue({ type: 't', ...(options as object) }), InvalidOptionError, field, /duration string/);
  });

  it('refuses delay together with runAt, empty names and bad requirements', async () => {
    await refused(store.enqueue({ type: 't', delay: '1s', runAt: Date.now() }), InvalidOptionError, 'delay', /not both/);
    await refused(store.enqueue({ type: '' }), InvalidOptionError, 'type');
    await refused(store.enqueue({ type: 't', queue: 'x'.repeat(201) }), InvalidOptionError, 'queue', /200/);
    await refused(store.enqueue({ type: 't', requires: { region: 1 } } as never), InvalidOptionError, 'requires.region');
    await refused(store.enqueue({ type: 't', runAt: new Date('nope') }), InvalidOptionError, 'runAt');
  });

  it('refuses a whole batch when one request is bad', async () => {
    await refused(store.enqueueBatch([{ type: 'ok' }, { type: 'ok', maxAttempts: -3 }]), InvalidOptionError, 'maxAttempts');
  });

  it('refuses bad claim requests and fenced writes', async () => {
    const base = { workerId: 'w', limit: 1, leaseMs: 1000, strategy: fifo };
    await refused(store.claim({ ...base, limit: 0 }), InvalidOptionError, 'limit');
    await refused(store.claim({ ...base, limit: 1.5 }), InvalidOptionError, 'limit');
    await refused(store.claim({ ...base, leaseMs: -1 }), InvalidOptionError, 'leaseMs');
    await refused(store.claim({ ...base, types: [''] }), InvalidOptionError, 'types[0]');
    await refused(store.claim({ ...base, lease: 5 } as never), InvalidOptionError, 'claim.lease');
    await refused(store.claim({ ...base, strategy: { kind: 'level-picking', name: 'x', withinLevel: fifo.order } as never }), InvalidOptionError, 'strategy.pickLevel');
    await refused(store.claim({ ...base, strategy: { kind: 'random' } as never }), InvalidOptionError, 'strategy');
    await refused(store.complete(1, -1), InvalidOptionError, 'token');
    await refused(store.heartbeat(1.5, 1, 1000), InvalidOptionError, 'taskId');
    await refused(store.complete(1, 1, { f: () => 1 }), InvalidInputError, 'result.f');
    await refused(store.reportProgress(1, 1, { percent: 150 }), InvalidOptionError, 'progress.percent');
    await refused(store.list({ limit: -1 }), InvalidOptionError, 'filter.limit');
    await refused(store.list({ status: 'done' as never }), InvalidOptionError, 'filter.status');
  });
});

describe('opening the SQLite database', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-open-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates parent folders and a file only its owner can read', async () => {
    const file = path.join(dir, 'a', 'b', 'q.db');
    const store = createSqliteTaskStore({ path: file, logger: silent });
    await store.enqueue({ type: 't' });
    await store.close();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('works in memory', async () => {
    const store = createSqliteTaskStore({ path: ':memory:', logger: silent, synchronous: 'FULL' });
    expect((await store.enqueue({ type: 't' })).task.id).toBe(1);
    await store.close();
  });

  it('refuses a file that is not SQLite, naming the path, without modifying it', () => {
    const file = path.join(dir, 'notes.db');
    fs.writeFileSync(file, 'these are my notes, not a database\n'.repeat(100));
    const hash = sha256(file);
    expect(() => createSqliteTaskStore({ path: file, logger: silent })).toThrow(NotADatabaseError);
    expect(() => createSqliteTaskStore({ path: file, logger: silent })).toThrow(file);
    expect(sha256(file)).toBe(hash);
    expect(fs.readdirSync(dir)).toEqual(['notes.db']);
  });

  it('refuses a database from a newer schema, naming both versions, without modifying it', async () => {
    const file = path.join(dir, 'q.db');
    const store = createSqliteTaskStore({ path: file, logger: silent });
    await store.enqueue({ type: 't', payload: { keep: true } });
    await store.close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 7}`);
    raw.close();
    const hash = sha256(file);
    let err: unknown;
    try {
      createSqliteTaskStore({ path: file, logger: silent });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SchemaTooNewError);
    expect(err).toMatchObject({ fileVersion: SCHEMA_VERSION + 7, supportedVersion: SCHEMA_VERSION });
    expect((err as Error).message).toContain(`schema version ${SCHEMA_VERSION + 7}`);
    expect((err as Error).message).toContain(`the ${SCHEMA_VERSION} this taskbridge supports`);
    expect(sha256(file)).toBe(hash);
  });

  it('refuses a location whose folder cannot be created or written', () => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, 'x');
    expect(() => createSqliteTaskStore({ path: path.join(blocker, 'sub', 'q.db'), logger: silent })).toThrow(DatabaseUnavailableError);
    expect(() => createSqliteTaskStore({ path: dir, logger: silent })).toThrow(/not a regular file/);
    if (process.getuid?.() !== 0) {
      // root ignores permission bits, so the read-only folder case only means something for other users.
      const ro = path.join(dir, 'ro');
      fs.mkdirSync(ro, 0o500);
      expect(() => createSqliteTaskStore({ path: path.join(ro, 'q.db'), logger: silent })).toThrow(DatabaseUnavailableError);
      expect(fs.readdirSync(ro)).toEqual([]);
    }
  });

  it('refuses bad store options, naming them', () => {
    expect(() => createSqliteTaskStore({ path: ':memory:', synchronous: 'OFF' as never })).toThrow(/synchronous: "OFF"; accepted: 'NORMAL' or 'FULL'/);
    expect(() => createSqliteTaskStore({ path: ':memory:', busyTimeout: 'forever' })).toThrow(/busyTimeout/);
    expect(() => createSqliteTaskStore({ path: ':memory:', maxPayloadBytes: 0 })).toThrow(/maxPayloadBytes/);
    expect(() => createSqliteTaskStore({ path: ':memory:', journal: 'off' } as never)).toThrow(/options.journal/);
    expect(() => createSqliteTaskStore({ path: ':memory:', walAutocheckpointPages: -1 })).toThrow(/walAutocheckpointPages: -1; accepted/);
    expect(() => createSqliteTaskStore({ path: ':memory:', leaseDefaults: { lease: 'long' } })).toThrow(/leaseDefaults.lease/);
  });
});
