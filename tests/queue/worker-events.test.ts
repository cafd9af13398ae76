import { TaskEvents } from '../../src/queue/events';

describe('TaskEvents', () => {
  const progress = { taskId: 1, progress: { percent: 50 } };

  it('a once() listener is called for the first emit only and then no longer listens', () => {
    const events = new TaskEvents();
    const calls: number[] = [];
    events.once('progress', ({ taskId }) => calls.push(taskId));
    events.emit('progress', progress);
    events.emit('progress', progress);
    expect(calls).toEqual([1]);
    expect(events.has('progress')).toBe(false);
  });

  it('a once() listener unsubscribed before any emit is never called; on() listeners keep listening', () => {
    const events = new TaskEvents();
    let once = 0;
    let on = 0;
    const off = events.once('progress', () => once++);
    events.on('progress', () => on++);
    off();
    events.emit('progress', progress);
    events.emit('progress', progress);
    expect(once).toBe(0);
    expect(on).toBe(2);
  });

  it('a listener that throws does not keep the others from being called', () => {
    const events = new TaskEvents();
    let called = 0;
    events.once('progress', () => { throw new Error('listener bug'); });
    events.on('progress', () => called++);
    events.emit('progress', progress);
    events.emit('progress', progress);
    expect(called).toBe(2);
    expect(events.has('progress')).toBe(true);
  });
});
