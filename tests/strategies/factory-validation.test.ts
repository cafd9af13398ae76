import { StrategyFactory, fifo, type Strategy } from '../../src/strategies';
import { InvalidOptionError } from '../../src/core/errors';
import { storeFactories } from '../queue/store-factories';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

// create() returned whatever a registered builder gave back. A builder that forgot its `return`
// handed undefined to `new Worker(..., { strategy })`, which took it for "no strategy" and claimed
// FIFO without a word; a malformed order was only refused by every claim of the running worker.
describe('StrategyFactory.create checks what a registered builder returns', () => {
  const cases: [string, unknown, RegExp][] = [
    ['nothing', undefined, /undefined/],
    ['a name string', 'fifo', /"fifo"/],
    ['an unknown kind', { kind: 'random', name: 'x' }, /"kind":"random"/],
    ['an order without a seq key last', { kind: 'ordered', name: 'x', order: [{ field: 'priority', direction: 'asc' }] }, /"priority"/],
    ['an empty order', { kind: 'ordered', name: 'x', order: [] }, /\[\]/],
    ['an unknown sort field', { kind: 'ordered', name: 'x', order: [{ field: 'created', direction: 'asc' }, { field: 'seq', direction: 'asc' }] }, /created/],
    ['an unknown direction', { kind: 'ordered', name: 'x', order: [{ field: 'seq', direction: 'up' }] }, /up/],
    ['a level picker without pickLevel', { kind: 'level-picking', name: 'x', withinLevel: [{ field: 'seq', direction: 'asc' }] }, /level-picking/],
    ['a level picker without withinLevel', { kind: 'level-picking', name: 'x', pickLevel: () => undefined }, /level-picking/],
    ['no name', { kind: 'ordered', order: [{ field: 'seq', direction: 'asc' }] }, /seq/],
  ];

  it.each(cases)('refuses %s with a typed error naming the strategy, the value and what is accepted', (_what, built, value) => {
    const factory = new StrategyFactory();
    factory.register('mine', () => built as Strategy);
    const err = thrown(() => factory.create('mine'));
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err.message).toContain('strategy "mine"');
    expect(err.message).toMatch(value);
    expect(err.message).toMatch(/accepted: .*(ordered|seq|function)/);
  });

  it('returns a well-formed custom strategy, which a store then claims by', async () => {
    const factory = new StrategyFactory();
    const newestUrgent: Strategy = {
      kind: 'ordered',
      name: 'newest-urgent',
      order: [{ field: 'priority', direction: 'asc' }, { field: 'seq', direction: 'desc' }],
    };
    factory.register('newest-urgent', () => newestUrgent);
    expect(factory.create('newest-urgent')).toBe(newestUrgent);
    expect(factory.create('fifo')).toBe(fifo);

    const h = storeFactories[0]!.create();
    try {
      for (const [label, p] of [['a', 5], ['b', 1], ['c', 1], ['d', 5]] as const) await h.store.enqueue({ type: 't', payload: label, priority: p });
      const claimed = await h.store.claim({ workerId: 'w', limit: 4, leaseMs: 1000, strategy: factory.create('newest-urgent') });
      expect(claimed.map((c) => c.task.payload)).toEqual(['c', 'b', 'd', 'a']);
    } finally {
      await h.cleanup();
    }
  });
});
