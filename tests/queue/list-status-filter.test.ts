import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReadOnlyQueue } from '../../src/cli/read-only';
import { ManualClock } from '../../src/core/clock';
import { InvalidOptionError } from '../../src/core/errors';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import type { TaskStatus } from '../../src/queue/types';
import { storeFactories, type StoreHarness } from './store-factories';
import { thrownBy } from '../support/thrown';

const EVERY_STATUS = /queued, running, completed, failed, cancelled/;

/** The typed refusal of an empty status list: names the field, the value and what is accepted. */
function expectEmptyStatusRefusal(err: unknown): void {
  expect(err).toBeInstanceOf(InvalidOptionError);
  const e = err as InvalidOptionError;
  expect(e.code).toBe('TASKBRIDGE_INVALID_OPTION');
  expect(e.field).toBe('filter.status');
  expect(e.value).toEqual([]);
  expect(e.message).toContain('filter.status');
  expect(e.message).toContain('[]');
  expect(e.message).toMatch(/accepted: one or more of/);
  expect(e.message).toMatch(EVERY_STATUS);
}

describe.each(storeFactories)('list() status filter ($name)', (factory) => {
  let h: StoreHarness;
  beforeEach(async () => {
    h = factory.create();
    await h.store.enqueueBatch([{ type: 'a' }, { type: 'b' }]);
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('refuses an empty status list instead of returning no tasks', async () => {
    expectEmptyStatusRefusal(await h.store.list({ status: [] }).then(() => undefined, (e: unknown) => e));
  });

  it('refuses an empty status list however the other filter fields are set', async () => {
    const err = await h.store.list({ status: [], type: 'a', queue: 'default', limit: 5, order: 'asc' }).then(() => undefined, (e: unknown) => e);
    expectEmptyStatusRefusal(err);
  });

  it('still lists with one status, several statuses, or none given', async () => {
    expect((await h.store.list({ status: 'queued' })).length).toBe(2);
    expect((await h.store.list({ status: ['queued', 'running'] })).length).toBe(2);
    expect((await h.store.list({ status: ['completed'] })).length).toBe(0);
    expect((await h.store.list({})).length).toBe(2);
  });

  it('names the bad entry, not the list, when one status in a list is unknown', async () => {
    const err = await h.store.list({ status: ['queued', 'done' as TaskStatus] }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).field).toBe('filter.status');
    expect((err as InvalidOptionError).value).toBe('done');
  });
});

describe('the synchronous and read-only lists refuse an empty status list', () => {
  const silent = { error() {}, warn() {}, info() {}, debug() {} };
  let dir: string;
  let file: string;
  let store: SqliteTaskStore;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-list-status-'));
    file = path.join(dir, 'queue.db');
    store = createSqliteTaskStore({ path: file, clock: new ManualClock(), logger: silent });
    await store.enqueue({ type: 'a' });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('listSync() throws the typed error synchronously', () => {
    expectEmptyStatusRefusal(thrownBy(() => store.listSync({ status: [] })));
    expect(store.listSync({ status: ['queued'] }).length).toBe(1);
  });

  it("the CLI's read-only queue throws the same typed error", () => {
    const queue = ReadOnlyQueue.open(file);
    try {
      expectEmptyStatusRefusal(thrownBy(() => queue.list({ status: [] })));
      expect(queue.list({ status: ['queued'] }).length).toBe(1);
    } finally {
      queue.close();
    }
  });
});
