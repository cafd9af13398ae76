import type { RandomSource } from '../core/random';

/**
 * A sort key a store can serve from an index.
 * - `priority`: the task's priority number (lower = more urgent).
 * - `readyAt`: when the task became ready: its run-after time (its enqueue time unless it was delayed or is a retry).
 * - `seq`: insertion order, the tie-breaker that makes every order total.
 */
export interface SortKey {
  readonly field: 'priority' | 'readyAt' | 'seq';
  readonly direction: 'asc' | 'desc';
}

/** Ready tasks of one priority level, as a store reports them for level-picking strategies. */
export interface PriorityLevel {
  readonly priority: number;
  /**
   * Tasks of this level ready now; delayed ones (a later run-after, a retry waiting out its backoff)
   * are left out. Counted whatever their type and requirements, so a claim filtered by those may
   * find none. The SQLite store counts exactly unless a level holds 1,024 or more of both ready and
   * delayed tasks; then it reports 1,024.
   */
  readonly count: number;
}

/** A strategy that claims the first task of a fixed order (FIFO, LIFO, priority). */
export interface OrderedStrategy {
  readonly kind: 'ordered';
  readonly name: string;
  /** The total order of claims, most significant key first. Must end in a `seq` key. */
  readonly order: readonly SortKey[];
}

/**
 * A strategy that first draws a priority level, then claims within that level in `withinLevel` order.
 * Stores call {@link LevelPickingStrategy.pickLevel} with the levels that hold queued tasks; a level
 * that turns out to hold no ready task is removed and the draw repeated.
 */
export interface LevelPickingStrategy {
  readonly kind: 'level-picking';
  readonly name: string;
  readonly withinLevel: readonly SortKey[];
  /** Returns the chosen level's priority, or undefined when `levels` is empty. */
  pickLevel(levels: readonly PriorityLevel[], random: RandomSource): number | undefined;
}

/**
 * Decides which ready task a worker claims next. A strategy is policy, not SQL: each store turns it
 * into its own indexed query.
 */
export type Strategy = OrderedStrategy | LevelPickingStrategy;

/** The built-in strategy names. */
export const BUILT_IN_STRATEGIES = ['fifo', 'lifo', 'priority', 'weighted-random'] as const;
export type BuiltInStrategyName = (typeof BUILT_IN_STRATEGIES)[number];
