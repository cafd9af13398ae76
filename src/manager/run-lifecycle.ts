/**
 * The lifecycle rules every executor shares (memory here, shadow and sqlite in `src/compat`), so a
 * run reads the same in the registry whichever mode ran it.
 */

import { InvalidInputError, describeThrown } from '../core/errors';
import type { Logger } from '../core/logger';
import type { RunRegistry } from './run-registry';
import type { Run, TaskContext } from './types';

/** The message recorded for whatever a work threw or rejected with (never throws; see core's). */
export { describeThrown };

/**
 * Fields of a previous execution. startTask clears them (as does a sqlite-mode executor adopting a
 * newer task of a run id), so a run id started again never shows the old run's timestamps, error or
 * progress (a queued run at 100 %) next to status `queued`.
 */
export const OUTCOME_FIELDS = [
  'startedAt',
  'completedAt',
  'durationSeconds',
  'exitCode',
  'errorMessage',
  'progressPercent',
  'itemsProcessed',
  'itemsTotal',
] as const;

/** The patch that removes the outcome fields (updateRun deletes a key whose value is undefined). */
export const CLEARED_OUTCOME: Partial<Run> = Object.freeze(Object.fromEntries(OUTCOME_FIELDS.map((f) => [f, undefined])));

/** The error's stack for a log line, or undefined when there is none or reading it throws. */
export function stackOf(error: unknown): string | undefined {
  try {
    return error instanceof Error ? error.stack : undefined;
  } catch {
    return undefined;
  }
}

/** The argument of {@link TaskContext.reportProgress}. */
export type ProgressReport = Parameters<TaskContext['reportProgress']>[0];

/**
 * The fields that close a run: `completedAt` at `now` and the seconds since it started; 0 for a
 * run that never began, so that every finished run carries a duration. A wall clock stepped back
 * during the run (NTP, a resumed VM) closes it at its start rather than before it, with duration 0.
 */
export function closingFields(now: number, startedAtMs: number | undefined): Pick<Run, 'completedAt' | 'durationSeconds'> {
  if (startedAtMs === undefined) return { completedAt: new Date(now), durationSeconds: 0 };
  const end = Math.max(now, startedAtMs);
  return { completedAt: new Date(end), durationSeconds: (end - startedAtMs) / 1000 };
}

/**
 * Writes a lifecycle change to the registry. A registry that throws is logged: its fault must not
 * turn into a failure of the run, nor into an unhandled rejection.
 */
export function updateRunSafely(registry: RunRegistry, logger: Logger, runId: string, patch: Partial<Run>): void {
  try {
    registry.updateRun(runId, patch);
  } catch (err) {
    logger.error('run registry update failed', { runId, status: patch.status, error: describeThrown(err) });
  }
}

/**
 * Checks a progress report and turns it into a registry patch.
 * @throws InvalidInputError naming the field: `percent` must be a finite number in 0..100,
 *   `itemsProcessed`/`itemsTotal` non-negative integers
 */
export function validateProgress(report: ProgressReport): Partial<Run> {
  if (report === null || typeof report !== 'object') {
    throw new InvalidInputError('progress', report, 'an object { percent?, itemsProcessed?, itemsTotal? }');
  }
  const patch: Partial<Run> = {};
  const { percent, itemsProcessed, itemsTotal } = report;
  if (percent !== undefined) {
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new InvalidInputError('percent', percent, 'a finite number from 0 to 100');
    }
    patch.progressPercent = percent;
  }
  if (itemsProcessed !== undefined) {
    assertCount('itemsProcessed', itemsProcessed);
    patch.itemsProcessed = itemsProcessed;
  }
  if (itemsTotal !== undefined) {
    assertCount('itemsTotal', itemsTotal);
    patch.itemsTotal = itemsTotal;
  }
  return patch;
}

function assertCount(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidInputError(field, value, 'a non-negative integer');
  }
}

