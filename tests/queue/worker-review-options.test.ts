import { EventEmitter } from 'node:events';
import { TaskEvents } from '../../src/queue/events';
import { resolveWorkerOptions } from '../../src/queue/worker-options';
import { refused } from '../support/thrown';

const silent = { error() {}, warn() {}, info() {}, debug() {} };


describe('worker options: values that would break the worker later', () => {
  // A Node EventEmitter has on(), which was all the check asked for, but its on() returns the
  // emitter, not an unsubscribe function: stop() then threw "this.unsubscribe is not a function",
  // left the worker 'stopping' and its ref'd heartbeat interval running, so the process never exited.
  it('refuses an events object that is not a TaskEvents, as the store does', () => {
    const emitter = new EventEmitter();
    const err = refused(() => resolveWorkerOptions({ logger: silent, events: emitter as never }));
    expect(err.field).toBe('events');
    expect(err.value).toBe(emitter);
    expect(err.accepted).toContain('TaskEvents');
    const events = new TaskEvents();
    expect(resolveWorkerOptions({ logger: silent, events }).events).toBe(events);
  });
});

describe('worker options: null is not "use the default"', () => {
  // Every other option refuses null (durations, names, strategy, clock...); these three read it as
  // absent through `??`, which also made pollInterval's own null check unreachable.
  it.each([
    ['concurrency', { concurrency: null }],
    ['prefetch', { prefetch: null }],
    ['pollInterval', { pollInterval: null }],
  ])('refuses %s: null naming the field and the value', (field, options) => {
    const err = refused(() => resolveWorkerOptions({ logger: silent, ...(options as object) }));
    expect(err.field).toBe(field);
    expect(err.value).toBeNull();
  });
});
