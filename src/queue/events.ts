import { EventEmitter } from 'node:events';
import { InvalidOptionError, describeThrown } from '../core/errors';
import type { Logger } from '../core/logger';
import type { Task, TaskProgress } from './types';
import { refuseUnknownKeys } from '../core/options';

/** Payloads of the task state-change events, by event name. */
export interface TaskEventMap {
  enqueued: { task: Task };
  started: { task: Task; workerId: string };
  progress: { taskId: number; progress: TaskProgress };
  completed: { task: Task };
  /** An attempt failed; `willRetry` tells whether a `retried` or `dead` event follows. */
  failed: { task: Task; error: string; willRetry: boolean };
  retried: { task: Task; runAfter: Date };
  cancelled: { task: Task };
  dead: { task: Task; error: string };
}
export type TaskEventName = keyof TaskEventMap;
export const TASK_EVENT_NAMES: readonly TaskEventName[] = [
  'enqueued', 'started', 'progress', 'completed', 'failed', 'retried', 'cancelled', 'dead',
];

/** Options of {@link TaskEvents}. */
export interface TaskEventsOptions {
  /** Where a listener's failure is reported (level `error`). Default none: the failure is dropped. */
  logger?: Logger;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['logger']);

/**
 * In-process emitter of task state changes. Events describe writes this process made; they are
 * emitted after the write committed. A listener that throws, or returns a promise that rejects, is
 * isolated: reported to the `logger` when one is given, never breaking the queue or the caller.
 */
export class TaskEvents {
  private readonly emitter = new EventEmitter();
  private readonly logger: Logger | undefined;

  /** @throws InvalidOptionError for options that are not `{ logger? }` or a logger without an `error` method */
  constructor(options: TaskEventsOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError('TaskEvents options', options, 'an object { logger? }');
    }
    refuseUnknownKeys('TaskEvents option ', options, OPTION_KEYS);
    const logger = options.logger;
    if (logger !== undefined && typeof (logger as Partial<Logger> | null)?.error !== 'function') {
      throw new InvalidOptionError('logger', logger, 'an object with an error(message, meta) method, e.g. a winston logger');
    }
    this.logger = logger;
    this.emitter.setMaxListeners(0);
  }

  on<E extends TaskEventName>(event: E, listener: (payload: TaskEventMap[E]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  once<E extends TaskEventName>(event: E, listener: (payload: TaskEventMap[E]) => void): () => void {
    this.emitter.once(event, listener);
    return () => this.emitter.off(event, listener);
  }

  /** True when anyone listens: lets hot paths skip building payloads nobody reads. */
  has(event: TaskEventName): boolean {
    return this.emitter.listenerCount(event) > 0;
  }

  emit<E extends TaskEventName>(event: E, payload: TaskEventMap[E]): void {
    if (this.emitter.listenerCount(event) === 0) return;
    // rawListeners, not listeners: a once() listener is listed as its wrapper, which removes it
    // before calling it; listeners() would hand back the bare function, called on every emit.
    for (const listener of this.emitter.rawListeners(event)) {
      try {
        const returned = (listener as (p: TaskEventMap[E]) => unknown)(payload);
        // An async listener's rejection would otherwise be unhandled, which ends a Node 20 process.
        if (typeof (returned as PromiseLike<unknown> | null)?.then === 'function') {
          (returned as PromiseLike<unknown>).then(undefined, (err: unknown) => this.listenerFailed(event, err));
        }
      } catch (err) {
        // A subscriber's bug must not undo or interrupt a committed state change.
        this.listenerFailed(event, err);
      }
    }
  }

  private listenerFailed(event: TaskEventName, err: unknown): void {
    try {
      this.logger?.error('task event listener failed', { event, error: describeThrown(err) });
    } catch {
      // Reporting is best effort: a broken logger must not turn into the failure it reports.
    }
  }
}
