import { TaskEvents } from '../../src/queue/events';
import { MemoryLogger } from './worker-helpers';

// README's own example subscribes `events.on('dead', ({ task, error }) => alert(task.id, error))`;
// alert() is as likely as not async. Events are emitted inside store calls the worker awaits, so a
// listener's failure, thrown or rejected, must stay the listener's.
describe('TaskEvents: a listener that fails', () => {
  const progress = { taskId: 7, progress: { percent: 50 } };
  /** Node reports an unhandled rejection once the microtasks of the turn ran: one setImmediate later. */
  const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('an async listener that rejects is not an unhandled rejection (which ends a Node 20 process); the others are still called', async () => {
    const events = new TaskEvents();
    let called = 0;
    events.on('progress', async () => { throw new Error('async listener bug'); });
    events.once('progress', () => Promise.reject(new Error('once listener bug')));
    events.on('progress', () => called++);
    events.emit('progress', progress);
    await nextTurn();
    expect(called).toBe(1);
  });

  it('a thrown or rejected listener failure is logged with the event name when a logger is given', async () => {
    const logger = new MemoryLogger();
    const events = new TaskEvents({ logger });
    events.on('progress', () => { throw new Error('sync listener bug'); });
    events.on('progress', async () => { throw new Error('async listener bug'); });
    events.emit('progress', progress);
    await nextTurn();
    expect(logger.lines).toEqual([
      { level: 'error', message: 'task event listener failed', meta: { event: 'progress', error: expect.stringContaining('sync listener bug') } },
      { level: 'error', message: 'task event listener failed', meta: { event: 'progress', error: expect.stringContaining('async listener bug') } },
    ]);
  });

  it.each([
    ['null', null, 'TaskEvents options'],
    ['a misspelt key', { loger: {} }, 'TaskEvents option loger'],
    ['a logger without methods', { logger: {} }, 'logger'],
  ])('refuses %s as options with a typed error naming it', (_what, options, field) => {
    expect(() => new TaskEvents(options as never)).toThrow(expect.objectContaining({ code: 'TASKBRIDGE_INVALID_OPTION', field }));
  });
});
