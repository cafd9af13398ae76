import { drawLevel, defaultPriorityWeight, weightedRandom } from '../../src/strategies';
import { SeededRandom } from '../../src/core/random';
import { InvalidOptionError } from '../../src/core/errors';

describe('weighted random level draw', () => {
  const levels = [
    { priority: 0, count: 10 },
    { priority: 1, count: 10 },
    { priority: 9, count: 10 },
    { priority: 99, count: 10 },
  ];

  it('draws each level with a share within 2 percentage points of count x 1/(p+1), seeded over 10,000 draws', () => {
    const random = new SeededRandom(42);
    const strategy = weightedRandom();
    const hits = new Map<number, number>();
    const draws = 10_000;
    for (let i = 0; i < draws; i++) {
      const p = strategy.pickLevel(levels, random)!;
      hits.set(p, (hits.get(p) ?? 0) + 1);
    }
    const total = levels.reduce((sum, l) => sum + l.count * defaultPriorityWeight(l.priority), 0);
    for (const level of levels) {
      const expected = (level.count * defaultPriorityWeight(level.priority)) / total;
      const observed = (hits.get(level.priority) ?? 0) / draws;
      expect(Math.abs(observed - expected)).toBeLessThan(0.02);
    }
    // The least urgent level still wins sometimes: no starvation.
    expect(hits.get(99) ?? 0).toBeGreaterThan(0);
  });

  it('is reproducible with the same seed', () => {
    const a = new SeededRandom(7);
    const b = new SeededRandom(7);
    const s = weightedRandom();
    const seqA = Array.from({ length: 50 }, () => s.pickLevel(levels, a));
    const seqB = Array.from({ length: 50 }, () => s.pickLevel(levels, b));
    expect(seqA).toEqual(seqB);
  });

  it('never picks an empty level and returns undefined when nothing is queued', () => {
    const random = new SeededRandom(1);
    expect(drawLevel([], defaultPriorityWeight, random)).toBeUndefined();
    expect(drawLevel([{ priority: 3, count: 0 }], defaultPriorityWeight, random)).toBeUndefined();
    for (let i = 0; i < 1000; i++) {
      expect(drawLevel([{ priority: 0, count: 0 }, { priority: 5, count: 2 }], defaultPriorityWeight, random)).toBe(5);
    }
  });

  it('accepts a configured weight function', () => {
    const random = new SeededRandom(3);
    // Equal weights: shares follow counts only.
    const s = weightedRandom({ weight: () => 1 });
    let low = 0;
    for (let i = 0; i < 10_000; i++) if (s.pickLevel([{ priority: 0, count: 1 }, { priority: 50, count: 3 }], random) === 50) low++;
    expect(low / 10_000).toBeGreaterThan(0.73);
    expect(low / 10_000).toBeLessThan(0.77);
  });

  it('refuses a weight function that yields a negative or non-finite weight', () => {
    const s = weightedRandom({ weight: (p) => (p === 2 ? -1 : 1) });
    expect(() => s.pickLevel([{ priority: 2, count: 1 }], new SeededRandom(1))).toThrow(InvalidOptionError);
    expect(() => weightedRandom({ weight: 5 as never })).toThrow(/weightedRandom.weight/);
  });

  // A zero weight made the level's total 0: the draw returned undefined and a claim took nothing
  // although ready tasks were there, silently, every time.
  it('refuses a weight function that yields zero for a level with tasks', () => {
    const s = weightedRandom({ weight: () => 0 });
    expect(() => s.pickLevel([{ priority: 2, count: 1 }], new SeededRandom(1))).toThrow(InvalidOptionError);
  });
});

