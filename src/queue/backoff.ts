import type { RandomSource } from '../core/random';

/** Backoff settings in resolved form, as stored on each task. */
export interface ResolvedBackoff {
  readonly baseMs: number;
  readonly factor: number;
  readonly capMs: number;
  readonly jitter: number;
}

/** Defaults of {@link BackoffOptions}: base 1s, factor 2, cap 1h, jitter 0.2. */
export const DEFAULT_BACKOFF: ResolvedBackoff = Object.freeze({ baseMs: 1000, factor: 2, capMs: 3_600_000, jitter: 0.2 });

/**
 * Delay before the next attempt after `attempt` attempts have failed (attempt >= 1).
 * The raw delay is min(cap, base * factor^(attempt-1)); "equal jitter" then keeps (1 - jitter) of it
 * fixed and draws the rest uniformly, so retries of many tasks failing together spread out while
 * the delay never drops below (1 - jitter) of the nominal value.
 */
export function backoffDelayMs(attempt: number, backoff: ResolvedBackoff, random: RandomSource): number {
  const exponent = Math.max(0, attempt - 1);
  // Computed in floating point: factor^exponent can overflow to Infinity, which the cap absorbs.
  const raw = Math.min(backoff.capMs, backoff.baseMs * Math.pow(backoff.factor, exponent));
  if (!Number.isFinite(raw) || raw <= 0) return raw > 0 ? backoff.capMs : 0;
  const jittered = raw * (1 - backoff.jitter) + raw * backoff.jitter * random.next();
  return Math.round(jittered);
}
