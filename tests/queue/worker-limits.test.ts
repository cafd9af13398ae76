import { InvalidOptionError } from '../../src/core/errors';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import { Worker } from '../../src/queue/worker';
import { useWorkerStore, waitFor } from './worker-helpers';

// What the worker accepts must be what the store accepts: a value let through at construction
// but refused by the store fails every claim, and the worker only logs claim errors forever.
describe('worker limits match the store', () => {
  const env = useWorkerStore();

  it('a worker holding more than a claim may carry (concurrency + prefetch > 10,000) still claims', async () => {
    const registry = new HandlerRegistry().register('job', async () => 'done');
    const w = new Worker(env.store, registry, { logger: env.logger, concurrency: 10_000, prefetch: 10_000, pollInterval: { min: '5ms', max: '20ms' } });
    env.workers.push(w);
    await w.start();
    const { task } = await env.store.enqueue({ type: 'job' });
    await waitFor(async () => (await env.store.get(task.id))?.status === 'completed', 'completion');
    expect(env.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('refuses at construction capabilities the store refuses', () => {
    const registry = new HandlerRegistry();
    let error: unknown;
    try {
      new Worker(env.store, registry, { logger: env.logger, capabilities: { '': 'x' } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).field).toBe('capabilities.');
  });

  // A lone surrogate has no UTF-8 form; the store refuses such names (validateName).
  it.each([
    ['workerId', { workerId: 'w-\uD800' }],
    ['queue', { queue: 'q-\uDC00' }],
  ])('refuses at construction a %s the store refuses', (field, options) => {
    let error: unknown;
    try {
      new Worker(env.store, new HandlerRegistry(), { logger: env.logger, ...options });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).field).toBe(field);
  });

  it('refuses to register a type no claim may name', () => {
    expect(() => new HandlerRegistry().register('t-\uD800', async () => undefined)).toThrow(InvalidOptionError);
  });
});
