export * from './types';
export { fifo, lifo, priority } from './ordered';
export { weightedRandom, drawLevel, defaultPriorityWeight } from './weighted-random';
export type { PriorityWeight, WeightedRandomOptions } from './weighted-random';
export { StrategyFactory, createStrategy } from './factory';
export { assertStrategy } from './validate';
export type { StrategyBuilder } from './factory';
