import { InvalidOptionError } from '../../src/core/errors';
import { fifo } from '../../src/strategies';
import { storeFactories } from './store-factories';

// The latest instant a Date can hold. A run-after time past it was stored and read back as an
// Invalid Date (task.runAfter.getTime() NaN; JSON output of the task threw a raw RangeError).
const MAX_DATE_MS = 8.64e15;

describe.each(storeFactories)('$name store: run-after times stay within the Date range', (factory) => {
  let h: ReturnType<typeof factory.create>;
  beforeEach(() => { h = factory.create(); });
  afterEach(async () => { await h.cleanup(); });

  it.each([
    ['runAt', { runAt: 1e20 }],
    ['runAt', { runAt: MAX_DATE_MS + 1 }],
    ['delay', { delay: 1e300 }],
    ['delay', { delay: MAX_DATE_MS }],
  ])('an enqueue whose %s lies past the last valid Date is refused and nothing is stored', async (field, options) => {
    const before = await h.store.counts();
    await expect(h.store.enqueue({ type: 't', ...options })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(h.store.enqueue({ type: 't', ...options })).rejects.toMatchObject({ field });
    expect(await h.store.counts()).toEqual(before);
  });

  it('the last valid Date itself is accepted as runAt', async () => {
    const { task } = await h.store.enqueue({ type: 't', runAt: MAX_DATE_MS });
    expect((await h.store.get(task.id))!.runAfter.getTime()).toBe(MAX_DATE_MS);
  });

  it('a retry whose backoff reaches past the last valid Date is scheduled at a valid time', async () => {
    const { task } = await h.store.enqueue({ type: 't', backoff: { base: 1e300, cap: 1e300, jitter: 0 } });
    const [claimed] = await h.store.claim({ workerId: 'w', limit: 1, leaseMs: 1000, strategy: fifo });
    expect(await h.store.fail(task.id, claimed!.token, { message: 'boom' })).toBe('retry-scheduled');
    const after = (await h.store.get(task.id))!;
    expect(after.status).toBe('queued');
    expect(Number.isNaN(after.runAfter.getTime())).toBe(false);
    expect(after.runAfter.getTime()).toBe(MAX_DATE_MS);
  });
});
