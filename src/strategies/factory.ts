import { InvalidOptionError, UnknownStrategyError } from '../core/errors';
import { fifo, lifo, priority } from './ordered';
import type { Strategy } from './types';
import { assertStrategy } from './validate';
import { weightedRandom } from './weighted-random';

/** Builds a strategy instance; called once per worker that asks for the name. */
export type StrategyBuilder = () => Strategy;

const NAME_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;

/**
 * Resolves strategies by name. Ships `fifo`, `lifo`, `priority` and `weighted-random`; applications
 * register their own under new names. Bound in the container as `TYPES.StrategyFactory`.
 */
export class StrategyFactory {
  private readonly builders = new Map<string, StrategyBuilder>();

  constructor() {
    this.builders.set('fifo', () => fifo);
    this.builders.set('lifo', () => lifo);
    this.builders.set('priority', () => priority);
    this.builders.set('weighted-random', () => weightedRandom());
  }

  /**
   * Adds a strategy under a new name.
   * @throws InvalidOptionError when the name is malformed or already taken (built-ins cannot be replaced).
   */
  register(name: string, builder: StrategyBuilder): void {
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      throw new InvalidOptionError('strategy name', name, 'lower-case letters, digits and dashes, starting with a letter, up to 64 characters');
    }
    if (this.builders.has(name)) {
      throw new InvalidOptionError('strategy name', name, `a name not already registered (taken: ${this.names().join(', ')})`);
    }
    if (typeof builder !== 'function') {
      throw new InvalidOptionError(`strategy ${name} builder`, builder, 'a function returning a Strategy');
    }
    this.builders.set(name, builder);
  }

  /**
   * Returns the strategy registered under `name`.
   * @throws UnknownStrategyError listing the known names.
   * @throws InvalidOptionError when the builder returns something that is not a well-formed Strategy
   */
  create(name: string): Strategy {
    const builder = typeof name === 'string' ? this.builders.get(name) : undefined;
    if (!builder) throw new UnknownStrategyError(name, this.names());
    const strategy: unknown = builder();
    // A builder's result would otherwise only meet a check at the first claim (and `undefined`
    // none at all: worker options read it as "no strategy" and fall back to FIFO).
    assertStrategy(`strategy ${JSON.stringify(name)}`, strategy);
    return strategy;
  }

  /** The registered names, built-ins first. */
  names(): string[] {
    return [...this.builders.keys()];
  }
}

const sharedFactory = new StrategyFactory();

/** Resolves a built-in strategy by name without a container. */
export function createStrategy(name: string): Strategy {
  return sharedFactory.create(name);
}
