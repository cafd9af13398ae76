import type { RandomSource } from '../core/random';
import { InvalidOptionError } from '../core/errors';
import { refuseUnknownKeys } from '../core/options';
import type { LevelPickingStrategy, PriorityLevel, SortKey } from './types';

/** Weight of one task at a priority level; must be finite and > 0 for every priority in use. */
export type PriorityWeight = (priority: number) => number;

/** The documented default: a task of priority p weighs 1 / (p + 1), so priority 0 weighs 1 and 99 weighs 0.01. */
export const defaultPriorityWeight: PriorityWeight = (p) => 1 / (p + 1);

export interface WeightedRandomOptions {
  /** Per-task weight by priority. Default {@link defaultPriorityWeight}. */
  weight?: PriorityWeight;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['weight']);

/**
 * Weighted random: a level's chance is the sum of its tasks' weights (count x weight(priority)), so
 * urgent work usually wins while every level with ready work keeps a non-zero chance: nothing starves.
 * Within the drawn level the oldest ready task is claimed.
 * @throws InvalidOptionError for options that are not an object, an unknown option (a typo would
 * otherwise leave the default weights in force unnoticed) or a weight that is not a function
 */
export function weightedRandom(options: WeightedRandomOptions = {}): LevelPickingStrategy {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError('weightedRandom options', options, `an object with the optional key ${[...OPTION_KEYS].join(', ')}`);
  }
  refuseUnknownKeys('weightedRandom.', options, OPTION_KEYS);
  const weight = options.weight ?? defaultPriorityWeight;
  if (typeof weight !== 'function') {
    throw new InvalidOptionError('weightedRandom.weight', weight, 'a function (priority) => positive finite number');
  }
  const withinLevel: readonly SortKey[] = Object.freeze([
    Object.freeze({ field: 'readyAt', direction: 'asc' }),
    Object.freeze({ field: 'seq', direction: 'asc' }),
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

/**
 * Draws one level with probability proportional to count x weight(priority).
 * @throws InvalidOptionError naming `weightedRandom.weight(<priority>)` and the value it returned,
 * when that is not a finite number > 0 or the weights of all the tasks sum past Number.MAX_VALUE;
 * naming `random.next()` when the source returns a value outside [0, 1)
 */
export function drawLevel(levels: readonly PriorityLevel[], weight: PriorityWeight, random: RandomSource): number | undefined {
  let total = 0;
  const cumulative: number[] = [];
  for (const level of levels) {
    let w = 0;
    if (level.count > 0) {
      const each: unknown = weight(level.priority);
      // Zero would starve the level silently (or, for every level, claim nothing); a string would
      // be coerced by the multiplication, '3' passing and '' failing by accident.
      if (typeof each !== 'number' || !Number.isFinite(each) || each <= 0) {
        throw new InvalidOptionError(`weightedRandom.weight(${level.priority})`, each, 'a finite number greater than 0');
      }
      w = level.count * each;
      if (!Number.isFinite(total + w)) {
        throw new InvalidOptionError(`weightedRandom.weight(${level.priority})`, each,
          `weights whose sum over the ready tasks (count x weight per level) stays finite; ${level.count} tasks at this priority`);
      }
    }
    total += w;
    cumulative.push(total);
  }
  if (total <= 0) return undefined;
  const u = random.next();
  // Outside [0, 1) every draw would fall through to the last level: the least urgent always winning.
  if (typeof u !== 'number' || !(u >= 0 && u < 1)) throw new InvalidOptionError('random.next()', u, 'a number in [0, 1)');
  const target = u * total;
  for (let i = 0; i < levels.length; i++) {
    if (target < cumulative[i]! && levels[i]!.count > 0) return levels[i]!.priority;
  }
  // Floating-point rounding can leave target == total; the last non-empty level takes it.
  for (let i = levels.length - 1; i >= 0; i--) if (levels[i]!.count > 0) return levels[i]!.priority;
  return undefined;
}
