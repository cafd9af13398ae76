/** The compat layer: modes, flag, mirroring, parity, canary routing, cutover and rollback. */
export {
  loadConfig, isCanary, CONFIG_KEYS, CONFIG_DEFAULTS, MODES, FALLBACKS,
  type TaskbridgeConfig, type ConfigInput, type ConfigKey, type Mode, type Fallback,
} from './config';
export { installFlagExecutorFactory, flagExecutorFactory } from './flag';
export { createModeExecutor, shutdownModeExecutors, closeModeExecutor, type ModeExecutor, type ModeExecutorDeps } from './mode-executor';
export { RoutingRunExecutor, rolloutBucket, canaryPredicate, type RoutePredicate, type HandlerCapable, type ClosableExecutor } from './routing';
export { ShadowRunExecutor, shadowStatsOf } from './shadow-executor';
export { MirrorWriter, type ShadowStats } from './mirror-writer';
export type { MirrorReopenOptions } from './mirror-opener';
export { SqliteRunExecutor } from './sqlite-executor';
export { TakeoverExecutor } from './takeover-executor';
export { checkParity, checkParityWithFile, mirrorFileReport, type ParityReport, type ParityMismatch, type ParityOptions, type MirrorFileReport } from './parity';
export { planRollback, planRollbackFromStore, type RollbackPlan, type RollbackItem, type PlanRollbackOptions } from './rollback';
export { SHADOW_QUEUE, RUN_QUEUE, type RunPayload } from './run-payload';
export type { RunHandler } from './handlers';
export { OWNER_CAPABILITY } from './recovery';
