import { Gauge, Registry } from 'prom-client';
import { metrics, type MetricsOptions, type QueueMetrics } from './metrics';
import { TASK_STATUSES } from './types';

/** File sizes to export beside the queue figures (from `health()`), when the caller has them. */
export interface StorageFigures {
  readonly databaseBytes: number;
  readonly walBytes: number;
}

/**
 * Renders queue figures in the Prometheus text exposition format (version 0.0.4).
 * A fresh registry per call: the figures are read from the database at scrape time, so no state
 * (and no stale label set of a type that was cleaned up) survives between scrapes.
 */
export async function renderPrometheus(m: QueueMetrics, storage?: StorageFigures): Promise<string> {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[] = []): Gauge<string> =>
    new Gauge({ name, help, labelNames, registers: [registry] });

  const tasks = gauge('taskbridge_tasks', 'Tasks by status.', ['status']);
  for (const status of TASK_STATUSES) tasks.set({ status }, m.counts.byStatus[status] ?? 0);
  const byType = gauge('taskbridge_tasks_by_type', 'Tasks by type and status.', ['type', 'status']);
  for (const [type, counts] of Object.entries(m.counts.byType)) {
    for (const status of TASK_STATUSES) byType.set({ type, status }, counts[status] ?? 0);
  }
  const byQueue = gauge('taskbridge_tasks_by_queue', 'Tasks by queue and status.', ['queue', 'status']);
  for (const [queue, counts] of Object.entries(m.counts.byQueue)) {
    for (const status of TASK_STATUSES) byQueue.set({ queue, status }, counts[status] ?? 0);
  }
  gauge('taskbridge_completed_last_hour', 'Tasks completed in the last hour.').set(m.throughput.completedInWindow);
  gauge('taskbridge_completed_per_minute', 'Average tasks completed per minute over the last hour.').set(m.throughput.averagePerMinute);
  gauge('taskbridge_oldest_queued_age_seconds', 'Wait of the longest-waiting ready task (0 when none waits).').set((m.oldestQueuedAgeMs ?? 0) / 1000);
  const latency = gauge('taskbridge_processing_time_seconds', 'Processing time of tasks completed in the last hour, by quantile.', ['quantile']);
  const quantiles: [string, number | null][] = [['0.5', m.processingTimeMs.p50], ['0.95', m.processingTimeMs.p95], ['0.99', m.processingTimeMs.p99]];
  for (const [quantile, value] of quantiles) if (value !== null) latency.set({ quantile }, value / 1000);
  gauge('taskbridge_processing_time_samples', 'Completed tasks the processing-time quantiles are computed from.').set(m.processingTimeMs.samples);
  gauge('taskbridge_retry_rate', 'Share of tasks finished in the last hour that needed more than one attempt.').set(m.retryRate);
  gauge('taskbridge_dead_last_hour', 'Tasks that went dead (failed for good) in the last hour.').set(m.deadInWindow);
  const workers = gauge('taskbridge_workers', 'Registered workers by heartbeat state.', ['state']);
  workers.set({ state: 'active' }, m.workers.active);
  workers.set({ state: 'stale' }, m.workers.stale);
  const leases = gauge('taskbridge_leases', 'Running tasks by lease state.', ['state']);
  leases.set({ state: 'active' }, m.leases.active);
  leases.set({ state: 'expired' }, m.leases.expired);
  if (storage !== undefined) {
    gauge('taskbridge_database_bytes', 'Size of the database file.').set(storage.databaseBytes);
    gauge('taskbridge_wal_bytes', 'Size of the write-ahead log.').set(storage.walBytes);
  }
  return registry.metrics();
}

/** The Prometheus content type to send with {@link renderPrometheus}'s text. */
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** Computes {@link metrics} and renders them in the Prometheus text format. */
export async function prometheusMetrics(options: MetricsOptions & { storage?: StorageFigures }): Promise<string> {
  return renderPrometheus(await metrics(options), options.storage);
}
