import { HandlerRegistry } from '../../src/queue/handler-registry';
import { normalizeClaimRequest, normalizeEnqueueRequest } from '../../src/queue/validation';
import { resolveWorkerOptions } from '../../src/queue/worker-options';
import { toAttemptError } from '../../src/queue/worker-types';
import { NonRetryableError } from '../../src/core/errors';
import { refused } from '../support/thrown';


describe('worker options', () => {
  it('fills in the documented defaults', () => {
    const o = resolveWorkerOptions({ logger: { error() {}, warn() {}, info() {}, debug() {} } });
    expect(o).toMatchObject({ queue: 'default', concurrency: 10, leaseMs: 30_000, heartbeatMs: 10_000, pollMinMs: 50, pollMaxMs: 2_000, shutdownTimeoutMs: 30_000 });
    expect(o.strategy).toMatchObject({ kind: 'ordered', name: 'fifo' });
    expect(o.workerId).toMatch(/^.+:\d+:[0-9a-f]{8}$/);
    expect(o.capabilities).toEqual({});
  });

  it('accepts ms strings for every duration', () => {
    const o = resolveWorkerOptions({ leaseDuration: '2s', heartbeatInterval: '500ms', pollInterval: { min: '10ms', max: '1s' }, shutdownTimeout: '1m' });
    expect(o).toMatchObject({ leaseMs: 2_000, heartbeatMs: 500, pollMinMs: 10, pollMaxMs: 1_000, shutdownTimeoutMs: 60_000 });
  });

  it('refuses an unknown key, naming it and the accepted keys', () => {
    const err = refused(() => resolveWorkerOptions({ concurency: 3 } as never));
    expect(err.field).toBe('worker option concurency');
    expect(err.value).toBe(3);
    expect(err.message).toContain('concurrency');
  });

  it('words an unknown key the same for worker, handler, enqueue and claim options', () => {
    const errors = [
      refused(() => resolveWorkerOptions({ concurency: 3 } as never)),
      refused(() => resolveWorkerOptions({ pollInterval: { every: '1s' } as never })),
      refused(() => new HandlerRegistry().register('c', async () => undefined, { retries: 3 } as never)),
      refused(() => normalizeEnqueueRequest({ type: 't', payload: null, priorty: 1 }, 0, 1024)),
      refused(() => normalizeClaimRequest({ workerId: 'w', limitt: 1 } as never, 30_000)),
    ];
    expect(errors.map((e) => e.field)).toEqual(['worker option concurency', 'pollInterval.every', 'handler option retries', 'request.priorty', 'claim.limitt']);
    for (const err of errors) expect(err.message).toMatch(/one of the known options: \w+/);
  });

  it.each([-1, 1.5, Number.NaN, '4', 10_001])('refuses prefetch %p', (value) => {
    const err = refused(() => resolveWorkerOptions({ prefetch: value as number }));
    expect(err.field).toBe('prefetch');
    expect(err.message).toContain('an integer from 0 to 10000');
  });

  it('prefetch defaults to 0 and accepts 0..10,000', () => {
    expect(resolveWorkerOptions({}).prefetch).toBe(0);
    expect(resolveWorkerOptions({ prefetch: 10_000 }).prefetch).toBe(10_000);
  });

  it.each([0, -1, 1.5, Number.NaN, '4'])('refuses concurrency %p', (value) => {
    const err = refused(() => resolveWorkerOptions({ concurrency: value as number }));
    expect(err.field).toBe('concurrency');
    expect(err.accepted).toContain('integer');
  });

  it('refuses an unparseable duration naming the field', () => {
    expect(refused(() => resolveWorkerOptions({ leaseDuration: 'soon' })).field).toBe('leaseDuration');
    expect(refused(() => resolveWorkerOptions({ pollInterval: { min: '1s', max: '10ms' } })).field).toBe('pollInterval.max');
    expect(refused(() => resolveWorkerOptions({ pollInterval: { every: '1s' } as never })).field).toBe('pollInterval.every');
  });

  it('refuses a heartbeat that is not shorter than the lease', () => {
    const err = refused(() => resolveWorkerOptions({ leaseDuration: '1s', heartbeatInterval: '1s' }));
    expect(err.field).toBe('heartbeatInterval');
  });

  it('a lease too short for the default heartbeat is refused naming leaseDuration, not the heartbeat nobody set', () => {
    const err = refused(() => resolveWorkerOptions({ leaseDuration: 1 }));
    expect(err.field).toBe('leaseDuration');
    expect(err.value).toBe(1);
    expect(resolveWorkerOptions({ leaseDuration: 2 }).heartbeatMs).toBe(1);
  });

  it('resolves a strategy by name and refuses a non-strategy', () => {
    expect(resolveWorkerOptions({ strategy: 'lifo' }).strategy.name).toBe('lifo');
    expect(refused(() => resolveWorkerOptions({ strategy: { kind: 'random' } as never })).field).toBe('strategy');
    // Right kind, wrong shape: refused at construction, not by every claim of the running worker.
    expect(refused(() => resolveWorkerOptions({ strategy: { kind: 'ordered', name: 'mine', order: [{ field: 'priority', direction: 'asc' }] } as never })).field).toBe('strategy');
    expect(refused(() => resolveWorkerOptions({ strategy: { kind: 'level-picking', name: 'w', withinLevel: [{ field: 'seq', direction: 'asc' }] } as never })).field).toBe('strategy');
    expect(refused(() => resolveWorkerOptions({ capabilities: { region: 1 } as never })).field).toBe('capabilities.region');
  });
});

describe('handler registry', () => {
  it('registers typed handlers and lists their types', async () => {
    const registry = new HandlerRegistry();
    registry.register<{ n: number }>('double', async (payload) => payload.n * 2, { timeout: '5s' });
    expect(registry.types()).toEqual(['double']);
    expect(registry.get('double')?.timeoutMs).toBe(5_000);
    expect(registry.unregister('double')).toBe(true);
    expect(registry.types()).toEqual([]);
  });

  it('refuses a duplicate type, a non-function handler and unknown options', () => {
    const registry = new HandlerRegistry().register('a', async () => undefined);
    expect(refused(() => registry.register('a', async () => undefined)).field).toBe('type');
    expect(refused(() => registry.register('b', 'nope' as never)).field).toBe('handler of b');
    expect(refused(() => registry.register('c', async () => undefined, { retries: 3 } as never)).field).toBe('handler option retries');
    expect(refused(() => registry.register('', async () => undefined)).field).toBe('type');
    expect(refused(() => registry.register('d', async () => undefined, { pinnedOnly: 'yes' } as never)).field).toBe('pinnedOnly');
  });

  it('lists the pinned-only types for the claim, in registration order, and forgets an unregistered one', () => {
    const registry = new HandlerRegistry()
      .register('open', async () => undefined)
      .register('mine', async () => undefined, { pinnedOnly: true })
      .register('also-mine', async () => undefined, { pinnedOnly: true });
    expect(registry.types()).toEqual(['open', 'mine', 'also-mine']);
    expect(registry.pinnedTypes()).toEqual(['mine', 'also-mine']);
    registry.unregister('mine');
    expect(registry.pinnedTypes()).toEqual(['also-mine']);
  });
});

describe('attempt errors', () => {
  it('keeps retryable unless the error says otherwise, and describes non-Error throws', () => {
    expect(toAttemptError(new Error('boom'))).toEqual({ message: 'boom', retryable: true });
    expect(toAttemptError(new NonRetryableError('bad input'))).toEqual({ message: 'bad input', retryable: false });
    expect(toAttemptError('just a string')).toEqual({ message: 'Non-Error thrown: "just a string"', retryable: true });
    expect(toAttemptError(undefined).message).toBe('Non-Error thrown: undefined');
    expect(toAttemptError({ retryable: false }).retryable).toBe(false);
  });
});

// Node clamps a timer delay above 2^31 - 1 ms (about 24.8 days) to 1 ms: a heartbeat, poll or
// shutdown timer that long would fire at once and, for the intervals, every millisecond. A lease
// longer than a year is refused by every claim, so the worker would only log claim errors forever.
describe('worker options: durations the worker can actually wait for', () => {
  const silent = { error() {}, warn() {}, info() {}, debug() {} };
  const MAX_TIMER_MS = 2 ** 31 - 1;

  it.each([
    ['heartbeatInterval', { leaseDuration: '100d', heartbeatInterval: '30d' }],
    ['pollInterval.max', { pollInterval: { max: '30d' } }],
    ['pollInterval.min', { pollInterval: { min: '30d', max: '31d' } }],
    ['shutdownTimeout', { shutdownTimeout: '30d' }],
    ['leaseDuration', { leaseDuration: '400d' }],
  ])('refuses a %s no timer can hold', (field, options) => {
    expect(refused(() => resolveWorkerOptions({ logger: silent, ...options })).field).toBe(field);
  });

  it('a lease longer than a timer can hold gets a default heartbeat a timer can hold', () => {
    const o = resolveWorkerOptions({ logger: silent, leaseDuration: '90d' });
    expect(o.leaseMs).toBe(90 * 86_400_000);
    expect(o.heartbeatMs).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(o.heartbeatMs).toBeGreaterThan(0);
  });
});
