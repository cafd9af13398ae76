import { defaultPriorityWeight, drawLevel, weightedRandom, type PriorityWeight } from '../../src/strategies';
import { SeededRandom } from '../../src/core/random';
import { InvalidOptionError } from '../../src/core/errors';

function thrown(fn: () => unknown): InvalidOptionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err as InvalidOptionError;
  }
  throw new Error('expected a throw');
}

const draw = (weight: PriorityWeight, count = 4) => () => drawLevel([{ priority: 0, count: 1 }, { priority: 7, count }], weight, new SeededRandom(1));

describe('weighted random configuration', () => {
  // A typo'd option (weights, weigth) was ignored: the strategy ran on the default weights while
  // the caller believed theirs were in force.
  it('refuses an unknown option, naming it and the known ones', () => {
    const err = thrown(() => weightedRandom({ weights: { 0: 5 } } as never));
    expect(err.message).toContain('weightedRandom.weights');
    expect(err.message).toContain('{"0":5}');
    expect(err.message).toMatch(/accepted: .*weight/);
  });

  it('refuses options that are not an object with a typed error', () => {
    expect(thrown(() => weightedRandom(null as never)).message).toMatch(/weightedRandom options: null; accepted: /);
    expect(thrown(() => weightedRandom('fast' as never)).message).toContain('"fast"');
  });

  // Strings were multiplied into numbers: '3' counted as 3 and '' as 0, so a weight table read
  // from text (environment, JSON) passed or failed by accident of coercion.
  it('refuses a weight that is not a number, even a numeric string', () => {
    const err = thrown(draw(((p: number) => (p === 7 ? '3' : 1)) as never));
    expect(err.message).toContain('weightedRandom.weight(7)');
    expect(err.message).toContain('"3"');
    expect(err.message).toMatch(/accepted: a finite number greater than 0/);
  });

  // The message showed count x weight (-4 for a weight of -1 on four tasks), not the value the
  // function returned, and did not say which call returned it.
  it('names the priority and the value the weight function returned', () => {
    const err = thrown(draw((p) => (p === 7 ? -1 : 1)));
    expect(err.message).toContain('weightedRandom.weight(7): -1;');
    expect(thrown(draw((p) => (p === 7 ? 0 : 1))).message).toContain('weightedRandom.weight(7): 0;');
  });

  // A finite weight whose total over the tasks overflows was reported as a non-finite weight.
  it('says when finite weights sum past the largest number', () => {
    const err = thrown(draw(() => 1e308));
    expect(err.message).toContain('weightedRandom.weight(7): 1e+308;');
    expect(err.message).toMatch(/sum/);
  });

  it.each([NaN, Infinity, -Infinity])('refuses a weight of %p', (w) => {
    expect(thrown(draw(() => w)).message).toContain('weightedRandom.weight(0)');
  });
});

// An injected RandomSource outside [0, 1) (Math.random() * 100, a broken generator giving NaN)
// made every draw fall through to the last non-empty level: the least urgent work always won.
describe('weighted draw refuses a random source outside [0, 1)', () => {
  it.each([1, 100, -0.5, NaN])('refuses %p', (u) => {
    const levels = [{ priority: 0, count: 5 }, { priority: 9, count: 5 }];
    let caught: unknown;
    try {
      drawLevel(levels, defaultPriorityWeight, { next: () => u });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidOptionError);
    expect((caught as Error).message).toMatch(/^Invalid random\.next\(\): .*; accepted: a number in \[0, 1\)/);
  });
});
