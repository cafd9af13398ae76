import fc from 'fast-check';
import { drawLevel, type PriorityLevel } from '../../src/strategies';
import type { RandomSource } from '../../src/core/random';

/** A RandomSource that returns the given values in turn. */
function fixed(values: readonly number[]): RandomSource {
  let i = 0;
  return { next: () => values[i++ % values.length]! };
}

// Distinct priorities, each with a count (0 included: a level the store reported empty) and a
// positive weight drawn over many orders of magnitude.
const levelsArb = fc
  .uniqueArray(fc.record({ priority: fc.integer({ min: 0, max: 1_000_000 }), count: fc.integer({ min: 0, max: 1_000 }), weight: fc.double({ min: 1e-6, max: 1e3, noNaN: true }) }), {
    minLength: 1, maxLength: 12, selector: (l) => l.priority,
  })
  .map((ls) => ls.sort((a, b) => a.priority - b.priority));

type Spec = { priority: number; count: number; weight: number };
const asLevels = (ls: readonly Spec[]): PriorityLevel[] => ls.map(({ priority, count }) => ({ priority, count }));
const weightOf = (ls: readonly Spec[]) => (p: number): number => ls.find((l) => l.priority === p)!.weight;

describe('weighted random draw, properties over seeded inputs', () => {
  it('gives each level exactly its share of the unit interval: N evenly spaced draws hit it share x N times, +-1', () => {
    fc.assert(
      fc.property(levelsArb, (ls) => {
        const n = 2_000;
        const grid = Array.from({ length: n }, (_, k) => (k + 0.5) / n);
        const random = fixed(grid);
        const hits = new Map<number, number>();
        const levels = asLevels(ls);
        const weight = weightOf(ls);
        for (let k = 0; k < n; k++) {
          const p = drawLevel(levels, weight, random);
          if (p !== undefined) hits.set(p, (hits.get(p) ?? 0) + 1);
        }
        const total = ls.reduce((s, l) => s + l.count * l.weight, 0);
        for (const l of ls) {
          const expected = total === 0 ? 0 : ((l.count * l.weight) / total) * n;
          expect(Math.abs((hits.get(l.priority) ?? 0) - expected)).toBeLessThanOrEqual(1 + 1e-9 * n);
        }
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it('never draws a level with no ready task, and draws nothing only when no level has one', () => {
    fc.assert(
      fc.property(levelsArb, fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 50 }), (ls, us) => {
        const levels = asLevels(ls);
        const random = fixed(us);
        const any = ls.some((l) => l.count > 0);
        for (let i = 0; i < us.length; i++) {
          const p = drawLevel(levels, weightOf(ls), random);
          if (!any) expect(p).toBeUndefined();
          else expect(ls.find((l) => l.priority === p)?.count ?? 0).toBeGreaterThan(0);
        }
      }),
      { seed: 12, numRuns: 300 },
    );
  });

  it('starves no level with ready tasks: some draw in [0, 1) picks each of them', () => {
    fc.assert(
      fc.property(levelsArb, (ls) => {
        const levels = asLevels(ls);
        const total = ls.reduce((s, l) => s + l.count * l.weight, 0);
        let before = 0;
        for (const l of ls) {
          const w = l.count * l.weight;
          if (w > 0) {
            // The middle of the level's slice of [0, 1).
            const u = (before + w / 2) / total;
            expect(drawLevel(levels, weightOf(ls), fixed([u]))).toBe(l.priority);
          }
          before += w;
        }
      }),
      { seed: 13, numRuns: 300 },
    );
  });

  it('the last level takes a draw of 1 - epsilon, so rounding never leaves a draw unassigned', () => {
    fc.assert(
      fc.property(levelsArb, (ls) => {
        fc.pre(ls.some((l) => l.count > 0));
        const last = [...ls].reverse().find((l) => l.count > 0)!;
        expect(drawLevel(asLevels(ls), weightOf(ls), fixed([1 - Number.EPSILON / 2]))).toBe(last.priority);
      }),
      { seed: 14, numRuns: 300 },
    );
  });
});
