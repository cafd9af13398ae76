/**
 * taskbridge: the legacy BackgroundTaskManager API with a durable SQLite queue behind it.
 *
 * Importing the package root installs the flag-reading executor factory, so
 * `new BackgroundTaskManager(registry)` follows TASKBRIDGE_MODE without any change to application code.
 * @packageDocumentation
 */
import 'reflect-metadata';
import { installFlagExecutorFactory } from './compat/flag';

installFlagExecutorFactory();

// The legacy contract and the manager.
export * from './manager';

// Container and configuration.
export { createContainer, shutdown } from './container';
export type { TaskStoreFactory } from './container';
export * from './compat';

// The durable queue.
export * from './queue/types';
export { TaskEvents, TASK_EVENT_NAMES } from './queue/events';
export type { TaskEventMap, TaskEventName } from './queue/events';
export { createSqliteTaskStore, SqliteTaskStore } from './queue/store-factory';
export type { SqliteStoreOptions } from './queue/store-factory';
export { Worker } from './queue/worker';
export type { WorkerOptions, PollIntervalOptions } from './queue/worker-options';
export type { WorkerState, StopOptions } from './queue/worker-types';
export { TaskCancelledError, LeaseLostError, WorkerStoppedError } from './queue/worker-types';
export { HandlerRegistry } from './queue/handler-registry';
export type { HandlerContext, TaskHandler, HandlerOptions } from './queue/handler-registry';
export { backoffDelayMs, DEFAULT_BACKOFF } from './queue/backoff';
export { ENQUEUE_DEFAULTS } from './queue/validation';

// Operating it: metrics, health, maintenance.
export { metrics, DEFAULT_STALE_AFTER_MS } from './queue/metrics';
export type { QueueMetrics, MetricsOptions, MetricsSource, WorkerStatus, LeaseCounts } from './queue/metrics';
export { SqliteMetricsSource } from './queue/sqlite/stats';
export type { StaleWorker } from './queue/sqlite/stats';
export { prometheusMetrics, renderPrometheus, PROMETHEUS_CONTENT_TYPE } from './queue/prometheus';
export type { StorageFigures } from './queue/prometheus';
export { health } from './queue/health';
export type { HealthReport, HealthCheck, HealthOptions } from './queue/health';
export * from './queue/maintenance';

// Strategies.
export * from './strategies';

// The shared kernel.
export * from './core/errors';
export { SystemClock, ManualClock } from './core/clock';
export type { Clock } from './core/clock';
export type { Logger, LogLevel } from './core/logger';
export { createLogger } from './core/logger';
export { MathRandom, SeededRandom } from './core/random';
export type { RandomSource } from './core/random';
export { parseDuration } from './core/duration';
export type { Duration } from './core/duration';
export { TYPES } from './core/tokens';
