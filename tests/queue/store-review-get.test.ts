import { InvalidOptionError } from '../../src/core/errors';
import { SqliteTaskStore } from '../../src/queue/sqlite/store';
import { MemoryLogger } from './worker-helpers';

/**
 * get() refused only ids that were not numbers: NaN (what Number('abc') gives a caller parsing an
 * id), 1.5, 0 and -1 reached SQLite and resolved to undefined, "no such task", while cancel() and
 * retry() refuse the same ids with a typed error naming taskId.
 */
describe('SqliteTaskStore get() of an id that cannot be a task id', () => {
  it.each([[Number.NaN], [1.5], [0], [-1], [Number.POSITIVE_INFINITY]])('refuses %p with InvalidOptionError naming taskId', async (id) => {
    const store = new SqliteTaskStore({ path: ':memory:', logger: new MemoryLogger() });
    await store.enqueue({ type: 't' });
    const err = await store.get(id).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err).toMatchObject({ field: 'taskId', accepted: 'a positive integer task id' });
    expect(Object.is((err as InvalidOptionError).value, id)).toBe(true);
    expect((await store.get(1))?.id).toBe(1);
    await store.close();
  });
});
