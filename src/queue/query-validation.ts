/**
 * Validation of the store's read-side and bookkeeping input: list() filters and what a worker says
 * about itself. Kept apart from `validation.ts`, which checks what goes into a task.
 */
import { InvalidOptionError } from '../core/errors';
import { refuseUnknownKeys } from '../core/options';
import { isPlainObject, validateCapabilities, validateInteger, validateName } from './validation';

const FILTER_KEYS = new Set(['status', 'type', 'queue', 'limit', 'offset', 'order']);
const STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'];

/** A list() filter after validation; `statuses` is a JSON array or null for any. */
export interface NormalizedFilter {
  readonly statuses: string | null;
  readonly type: string | null;
  readonly queue: string | null;
  readonly limit: number;
  readonly offset: number;
  readonly order: 'asc' | 'desc';
}

/**
 * Validates list() filters: default limit 100 (max 10,000), offset 0, newest first.
 * @throws InvalidOptionError for an unknown key or value, including `status: []` (omit `status` for every status)
 */
export function normalizeListFilter(filter: unknown): NormalizedFilter {
  if (filter === undefined) return { statuses: null, type: null, queue: null, limit: 100, offset: 0, order: 'desc' };
  if (!isPlainObject(filter)) throw new InvalidOptionError('filter', filter, 'an object { status?, type?, queue?, limit?, offset?, order? }');
  refuseUnknownKeys('filter.', filter, FILTER_KEYS);
  let statuses: string | null = null;
  if (filter.status !== undefined) {
    const list = Array.isArray(filter.status) ? filter.status : [filter.status];
    // `status IN ()` matches nothing: an empty list is a filter built from an empty selection, and
    // answering "no tasks" would hide that bug. Omit `status` to list every status.
    if (list.length === 0) throw new InvalidOptionError('filter.status', list, `one or more of ${STATUSES.join(', ')}`);
    for (const s of list) {
      if (!STATUSES.includes(s as string)) throw new InvalidOptionError('filter.status', s, STATUSES.join(', '));
    }
    statuses = JSON.stringify(list);
  }
  const order = filter.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new InvalidOptionError('filter.order', filter.order, "'asc' or 'desc'");
  return {
    statuses,
    type: filter.type === undefined ? null : validateName('filter.type', filter.type),
    queue: filter.queue === undefined ? null : validateName('filter.queue', filter.queue),
    limit: filter.limit === undefined ? 100 : validateInteger('filter.limit', filter.limit, 1, 10_000),
    offset: filter.offset === undefined ? 0 : validateInteger('filter.offset', filter.offset, 0, Number.MAX_SAFE_INTEGER),
    order,
  };
}

const WORKER_KEYS = new Set(['workerId', 'pid', 'hostname', 'queue', 'concurrency', 'strategy', 'capabilities']);

/** Validates what a worker says about itself. */
export function validateWorkerInfo(info: unknown): void {
  if (!isPlainObject(info)) throw new InvalidOptionError('worker', info, 'an object { workerId, pid, hostname, queue, concurrency, strategy, capabilities }');
  refuseUnknownKeys('worker.', info, WORKER_KEYS);
  validateName('worker.workerId', info.workerId);
  validateInteger('worker.pid', info.pid, 0, 2 ** 31 - 1);
  validateName('worker.hostname', info.hostname, 1000);
  validateName('worker.queue', info.queue);
  validateInteger('worker.concurrency', info.concurrency, 1, 100_000);
  validateName('worker.strategy', info.strategy);
  if (info.capabilities !== undefined) validateCapabilities('worker.capabilities', info.capabilities);
}
