import type { Clock } from '../core/clock';
import { InvalidOptionError } from '../core/errors';
import type { MirrorStore } from '../queue/sqlite/mirror-store';

/** How a {@link MirrorWriter} that started without its database retries opening it. */
export interface MirrorReopenOptions {
  /** Opens the mirror store (the same recipe as the first, failed, open); throws when it cannot. */
  open: () => MirrorStore;
  /** Wait after the first failure; doubled after each further one. Default 1 s. */
  minDelayMs?: number;
  /** The longest wait between two attempts. Default 60 s. */
  maxDelayMs?: number;
}

/** What one attempt gave. */
export type ReopenOutcome =
  | { readonly kind: 'not-due' }
  | { readonly kind: 'opened'; readonly store: MirrorStore; readonly failedAttempts: number }
  | { readonly kind: 'failed'; readonly error: unknown };

/**
 * The retry schedule of a mirror whose database could not be opened at start-up (a volume mounted
 * late, permissions fixed after the deploy): attempts are spaced by a doubling wait, capped, read
 * from the injected clock, so a stream of flushes costs one clock read each while the cause lasts
 * and the mirror catches up at the first attempt after it is gone.
 */
export class MirrorOpener {
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private failures: number;
  private nextAt: number;

  /**
   * Made after the start-up open failed: that counts as the first failed attempt, so the first
   * retry waits `minDelayMs`.
   * @throws InvalidOptionError for a delay that is not a positive number of milliseconds, or a max below the min
   */
  constructor(
    private readonly options: MirrorReopenOptions,
    private readonly clock: Clock,
  ) {
    if (typeof options.open !== 'function') throw new InvalidOptionError('reopen.open', options.open, 'a function returning a MirrorStore');
    for (const field of ['minDelayMs', 'maxDelayMs'] as const) {
      const value = options[field];
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)) {
        throw new InvalidOptionError(`reopen.${field}`, value, 'a positive finite number of milliseconds');
      }
    }
    this.minDelayMs = options.minDelayMs ?? 1_000;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    if (this.maxDelayMs < this.minDelayMs) {
      throw new InvalidOptionError('reopen.maxDelayMs', this.maxDelayMs, `at least reopen.minDelayMs (${this.minDelayMs})`);
    }
    this.failures = 1;
    this.nextAt = clock.now() + this.delay();
  }

  /** Milliseconds until the next attempt may be made; 0 when it is due. */
  dueIn(): number {
    return Math.max(0, this.nextAt - this.clock.now());
  }

  /** Opens the store if an attempt is due. Never throws: a failure is returned and pushes the next attempt back. */
  attempt(): ReopenOutcome {
    if (this.dueIn() > 0) return { kind: 'not-due' };
    try {
      const store = this.options.open();
      return { kind: 'opened', store, failedAttempts: this.failures };
    } catch (error) {
      this.failures += 1;
      this.nextAt = this.clock.now() + this.delay();
      return { kind: 'failed', error };
    }
  }

  private delay(): number {
    // 2 ** 30 already exceeds any sane cap; the exponent is clamped so the wait stays finite.
    return Math.min(this.maxDelayMs, this.minDelayMs * 2 ** Math.min(30, Math.max(0, this.failures - 1)));
  }
}
