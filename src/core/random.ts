/** Source of uniform random numbers in [0, 1), injectable so weighted choices can be seeded in tests. */
export interface RandomSource {
  next(): number;
}

/** Math.random. */
export class MathRandom implements RandomSource {
  next(): number {
    return Math.random();
  }
}

/**
 * Deterministic generator (mulberry32): small, fast and good enough for scheduling decisions;
 * not for anything security related.
 */
export class SeededRandom implements RandomSource {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
