import { EventEmitter } from 'node:events';
import type { Task, TaskProgress } from './types';

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

/**
 * In-process emitter of task state changes. Events describe writes this process made; they are
 * emitted after the write committed. A listener that throws is isolated (logged by the emitter owner),
 * never breaking the queue.
 */
export class TaskEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
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
        (listener as (p: TaskEventMap[E]) => void)(payload);
      } catch {
        // A subscriber's bug must not undo or interrupt a committed state change.
      }
    }
  }
}
