import { StrategyFactory, createStrategy, fifo, lifo, priority } from '../../src/strategies';
import { InvalidOptionError, UnknownStrategyError } from '../../src/core/errors';

describe('StrategyFactory', () => {
  it('resolves every built-in name', () => {
    const factory = new StrategyFactory();
    expect(factory.names()).toEqual(['fifo', 'lifo', 'priority', 'weighted-random']);
    expect(factory.create('fifo')).toBe(fifo);
    expect(factory.create('lifo')).toBe(lifo);
    expect(factory.create('priority')).toBe(priority);
    expect(factory.create('weighted-random').kind).toBe('level-picking');
  });

  it('refuses an unknown name with a typed error listing the known names', () => {
    const factory = new StrategyFactory();
    let caught: unknown;
    try {
      factory.create('random-ish');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UnknownStrategyError);
    expect((caught as UnknownStrategyError).code).toBe('TASKBRIDGE_UNKNOWN_STRATEGY');
    expect((caught as Error).message).toContain('"random-ish"');
    expect((caught as Error).message).toContain('fifo, lifo, priority, weighted-random');
  });

  it('lets an application register its own strategy under a new name', () => {
    const factory = new StrategyFactory();
    factory.register('urgent-newest', () => ({
      kind: 'ordered',
      name: 'urgent-newest',
      order: [
        { field: 'priority', direction: 'asc' },
        { field: 'seq', direction: 'desc' },
      ],
    }));
    expect(factory.create('urgent-newest').name).toBe('urgent-newest');
    expect(factory.names()).toContain('urgent-newest');
    expect(() => factory.create('nope')).toThrow(/urgent-newest/);
  });

  it('refuses to replace a built-in or to take a malformed name', () => {
    const factory = new StrategyFactory();
    expect(() => factory.register('fifo', () => lifo)).toThrow(InvalidOptionError);
    expect(() => factory.register("x'; DROP TABLE tasks;--", () => lifo)).toThrow(/strategy name/);
    expect(() => factory.register('ok-name', 'not a function' as never)).toThrow(InvalidOptionError);
  });

  it('createStrategy resolves built-ins without a container', () => {
    expect(createStrategy('priority')).toBe(priority);
    expect(() => createStrategy('')).toThrow(UnknownStrategyError);
  });
});

describe('ordered strategies', () => {
  it('end every order in a seq key so the order is total', () => {
    for (const s of [fifo, lifo, priority]) {
      expect(s.order[s.order.length - 1]!.field).toBe('seq');
    }
  });

  it('priority sorts by priority number ascending, then FIFO', () => {
    expect(priority.order.map((k) => `${k.field}:${k.direction}`)).toEqual(['priority:asc', 'readyAt:asc', 'seq:asc']);
  });
});
