/** Source of the current time, injected so tests can move time instead of sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The wall clock. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
}

/** A clock that only moves when told to; for tests and simulations. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  /** Moves time forward (or backward, with a negative amount) by `ms`. */
  advance(ms: number): void {
    this.current += ms;
  }

  /** Sets the time to an absolute instant. */
  set(to: number | Date): void {
    this.current = typeof to === 'number' ? to : to.getTime();
  }
}
