/** The legacy manager API (`src/manager`): registry, facade, in-memory executor and the mode seam. */
export type { Run, RunStatus, TaskContext, TaskWork, RunExecutor, RunHandlerOptions } from './types';
export { RUN_STATUSES } from './types';
export {
  RunRegistry,
  cloneRun,
  isActiveStatus,
  isFinishedStatus,
  type RunChangeKind,
  type RunChangeListener,
  type RunRegistryOptions,
} from './run-registry';
export { BackgroundTaskManager, validateRun, type BackgroundTaskManagerOptions } from './background-task-manager';
export { MemoryRunExecutor, type MemoryRunExecutorOptions } from './memory-executor';
export { validateProgress, type ProgressReport } from './run-lifecycle';
// The package root also exports core/errors: this is the same binding, so `export *` stays unambiguous.
export { describeThrown } from '../core/errors';
export {
  setDefaultExecutorFactory,
  resetDefaultExecutorFactory,
  createDefaultExecutor,
  type ExecutorFactory,
  type ExecutorFactoryContext,
} from './executor-provider';
