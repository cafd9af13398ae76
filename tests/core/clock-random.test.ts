import { ManualClock } from '../../src/core/clock';
import { SeededRandom } from '../../src/core/random';

describe('ManualClock', () => {
  it('moves only when told to, in both directions', () => {
    const clock = new ManualClock(1000);
    expect(clock.now()).toBe(1000);
    clock.advance(500);
    expect(clock.now()).toBe(1500);
    clock.advance(-2000);
    expect(clock.now()).toBe(-500);
    clock.set(new Date(0));
    expect(clock.now()).toBe(0);
  });
});

describe('SeededRandom', () => {
  it('repeats its sequence for one seed and stays in [0, 1)', () => {
    const a = new SeededRandom(99);
    const b = new SeededRandom(99);
    for (let i = 0; i < 1000; i++) {
      const x = a.next();
      expect(x).toBe(b.next());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    expect(new SeededRandom(1).next()).not.toBe(new SeededRandom(2).next());
  });
});
