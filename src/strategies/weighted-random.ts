import type { RandomSource } from '../core/random';
import { InvalidOptionError } from '../core/errors';
import type { LevelPickingStrategy, PriorityLevel, SortKey } from './types';

/** Weight of one task at a priority level; must be finite and > 0 for every priority in use. */
export type PriorityWeight = (priority: number) => number;

/** The documented default: a task of priority p weighs 1 / (p + 1), so priority 0 weighs 1 and 99 weighs 0.01. */
export const defaultPriorityWeight: PriorityWeight = (p) => 1 / (p + 1);

export interface WeightedRandomOptions {
  /** Per-task weight by priority. Default {@link defaultPriorityWeight}. */
  weight?: PriorityWeight;
}

/**
 * Weighted random: a level's chance is the sum of its tasks' weights (count x weight(priority)), so
 * urgent work usually wins while every level with ready work keeps a non-zero chance: nothing starves.
 * Within the drawn level the oldest ready task is claimed.
 */
export function weightedRandom(options: WeightedRandomOptions = {}): LevelPickingStrategy {
  const weight = options.weight ?? defaultPriorityWeight;
  if (typeof weight !== 'function') {
    throw new InvalidOptionError('weightedRandom.weight', weight, 'a function (priority) => positive finite number');
  }
  const withinLevel: readonly SortKey[] = Object.freeze([
    { field: 'readyAt', direction: 'asc' },
    { field: 'seq', direction: 'asc' },
  ] as const);
  return Object.freeze({
    kind: 'level-picking' as const,
    name: 'weighted-random',
    withinLevel,
    pickLevel(levels: readonly PriorityLevel[], random: RandomSource): number | undefined {
      return drawLevel(levels, weight, random);
    },
  });
}

/** Draws one level with probability proportional to count x weight(priority). */
export function drawLevel(levels: readonly PriorityLevel[], weight: PriorityWeight, random: RandomSource): number | undefined {
  let total = 0;
  const cumulative: number[] = [];
  for (const level of levels) {
    const w = level.count > 0 ? level.count * weight(level.priority) : 0;
    // Zero for a level with tasks would starve it silently (or, for every level, claim nothing).
    if (!Number.isFinite(w) || w < 0 || (level.count > 0 && w === 0)) {
      throw new InvalidOptionError('weightedRandom.weight', w, `a positive finite number for priority ${level.priority}`);
    }
    total += w;
    cumulative.push(total);
  }
  if (total <= 0) return undefined;
  const target = random.next() * total;
  for (let i = 0; i < levels.length; i++) {
    if (target < cumulative[i]! && levels[i]!.count > 0) return levels[i]!.priority;
  }
  // Floating-point rounding can leave target == total; the last non-empty level takes it.
  for (let i = levels.length - 1; i >= 0; i--) if (levels[i]!.count > 0) return levels[i]!.priority;
  return undefined;
}
