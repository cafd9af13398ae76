import type { Run, TaskContext } from '../manager/types';

/**
 * A durable handler for one moduleId. Unlike the closure given to `startTask`, it can run in any
 * process that registered it, so runs of its module survive a restart and can be taken by other
 * worker processes. It receives a copy of the run (its `parameters` come from the queue's payload).
 */
export type RunHandler = (run: Readonly<Run>, ctx: TaskContext) => Promise<unknown>;

/** Handlers by moduleId, shared by the executors of one manager. */
export class RunHandlerMap {
  private readonly handlers = new Map<string, RunHandler>();

  set(moduleId: string, handler: RunHandler): void {
    this.handlers.set(moduleId, handler);
  }

  get(moduleId: string): RunHandler | undefined {
    return this.handlers.get(moduleId);
  }

  has(moduleId: string): boolean {
    return this.handlers.has(moduleId);
  }

  moduleIds(): string[] {
    return [...this.handlers.keys()];
  }
}
