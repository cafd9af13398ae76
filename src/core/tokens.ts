/** inversify service identifiers. One symbol per seam, so bindings can be swapped in tests. */
export const TYPES = {
  Config: Symbol.for('taskbridge.Config'),
  Clock: Symbol.for('taskbridge.Clock'),
  Logger: Symbol.for('taskbridge.Logger'),
  Random: Symbol.for('taskbridge.Random'),
  TaskStore: Symbol.for('taskbridge.TaskStore'),
  TaskStoreFactory: Symbol.for('taskbridge.TaskStoreFactory'),
  StrategyFactory: Symbol.for('taskbridge.StrategyFactory'),
  Strategy: Symbol.for('taskbridge.Strategy'),
  RunRegistry: Symbol.for('taskbridge.RunRegistry'),
  BackgroundTaskManager: Symbol.for('taskbridge.BackgroundTaskManager'),
  HandlerRegistry: Symbol.for('taskbridge.HandlerRegistry'),
} as const;
