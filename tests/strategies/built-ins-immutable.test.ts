import { createStrategy, fifo, lifo, priority, weightedRandom } from '../../src/strategies';

// The built-ins are shared: createStrategy('fifo') and every StrategyFactory hand out the same
// object. Object.freeze covered the strategy and its order array but not the sort keys in it, so
// `createStrategy('fifo').order[0].direction = 'desc'` turned every FIFO worker of the process
// into newest-first.
describe('built-in strategies cannot be changed through a reference', () => {
  it.each([
    ['fifo', fifo.order],
    ['lifo', lifo.order],
    ['priority', priority.order],
    ['weighted-random', weightedRandom().withinLevel],
  ])('%s sort keys are frozen', (_name, keys) => {
    for (const k of keys) {
      expect(() => {
        (k as { direction: string }).direction = 'desc';
      }).toThrow(TypeError);
    }
  });

  it('a changed copy leaves the shared FIFO as documented', () => {
    const mine = { ...createStrategy('fifo'), order: [{ field: 'seq', direction: 'desc' }] };
    expect(mine.order[0]!.direction).toBe('desc');
    expect(fifo.order.map((k) => `${k.field}:${k.direction}`)).toEqual(['readyAt:asc', 'seq:asc']);
    expect(createStrategy('fifo')).toBe(fifo);
  });
});
