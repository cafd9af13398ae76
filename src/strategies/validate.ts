import { InvalidOptionError } from '../core/errors';
import type { SortKey, Strategy } from './types';

const FIELDS: readonly SortKey['field'][] = ['priority', 'readyAt', 'seq'];
const DIRECTIONS: readonly SortKey['direction'][] = ['asc', 'desc'];

const ACCEPTED =
  "{ kind: 'ordered', name, order } or { kind: 'level-picking', name, withinLevel, pickLevel: function }, with a non-empty name " +
  "and sort keys { field: 'priority' | 'readyAt' | 'seq', direction: 'asc' | 'desc' } ending in a seq key";

/**
 * True for a non-empty list of sort keys over the known fields and directions, ending in a `seq`
 * key (the tiebreak that makes an order total). The one rule: stores check claim orders with it too.
 */
export function isSortKeys(keys: unknown): keys is readonly SortKey[] {
  if (!Array.isArray(keys) || keys.length === 0) return false;
  const wellFormed = keys.every(
    (k: unknown) =>
      k !== null && typeof k === 'object' &&
      FIELDS.includes((k as SortKey).field) && DIRECTIONS.includes((k as SortKey).direction),
  );
  return wellFormed && (keys[keys.length - 1] as SortKey).field === 'seq';
}

/**
 * Checks that `value` is a usable {@link Strategy}: the shape every store maps to a claim query.
 * Stores check again when they build their query; this lets a strategy be refused where it is
 * made (a factory, a worker's options) instead of on every claim.
 * @param field what to name in the error, e.g. `strategy "mine"`
 * @throws InvalidOptionError naming `field`, the value and the accepted shape
 */
export function assertStrategy(field: string, value: unknown): asserts value is Strategy {
  const s = value as Partial<Record<string, unknown>> | null;
  const ok =
    s !== null && typeof s === 'object' && typeof s.name === 'string' && s.name !== '' &&
    ((s.kind === 'ordered' && isSortKeys(s.order)) ||
      (s.kind === 'level-picking' && isSortKeys(s.withinLevel) && typeof s.pickLevel === 'function'));
  if (!ok) throw new InvalidOptionError(field, value, ACCEPTED);
}
