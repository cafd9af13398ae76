import type { OrderedStrategy, SortKey } from './types';

// Frozen down to the keys: every create() of a built-in name hands out these same objects.
const asc = (field: SortKey['field']): SortKey => Object.freeze({ field, direction: 'asc' });
const desc = (field: SortKey['field']): SortKey => Object.freeze({ field, direction: 'desc' });

/**
 * FIFO: the task that became ready first is claimed first. "Ready" is the run-after time, which is
 * the enqueue time unless the task was delayed or is waiting for a retry; insertion order breaks ties.
 */
export const fifo: OrderedStrategy = Object.freeze({
  kind: 'ordered',
  name: 'fifo',
  order: Object.freeze([asc('readyAt'), asc('seq')]),
});

/** LIFO: the task that became ready last is claimed first; the later insertion wins a tie. */
export const lifo: OrderedStrategy = Object.freeze({
  kind: 'ordered',
  name: 'lifo',
  order: Object.freeze([desc('readyAt'), desc('seq')]),
});

/**
 * Priority: lower priority number first (1 before 100), FIFO among equal priorities. The default of
 * `TASKBRIDGE_STRATEGY` (the legacy API in sqlite mode); a `Worker` and `taskbridge worker` default to FIFO.
 */
export const priority: OrderedStrategy = Object.freeze({
  kind: 'ordered',
  name: 'priority',
  order: Object.freeze([asc('priority'), asc('readyAt'), asc('seq')]),
});
