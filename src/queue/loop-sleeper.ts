/** Why the claim loop waits: for work (idle), for a free slot, or after an error. */
export type SleepReason = 'idle' | 'slots' | 'error';

/**
 * The claim loop's waits: until a timer, a wake-up (a slot freed, stop) or, for idle waits, a
 * notify. A notify that arrives while the loop is busy claiming is remembered, so the next idle
 * wait returns at once instead of sleeping through the enqueue it announced.
 */
export class LoopSleeper {
  private reason: SleepReason | undefined;
  private resolve: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private notified = false;

  /** What the loop is waiting for now, if it waits. */
  get waitingFor(): SleepReason | undefined {
    return this.reason;
  }

  /** Waits until `ms` passed (forever without `ms`) or {@link wake}; an idle wait ends at once after a notify. */
  sleep(reason: SleepReason, ms?: number): Promise<void> {
    if (reason === 'idle' && this.notified) {
      this.notified = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.reason = reason;
      this.resolve = resolve;
      if (ms !== undefined) this.timer = setTimeout(() => this.wake(), ms);
    });
  }

  /** Ends the current wait, whatever its reason. */
  wake(): void {
    const resolve = this.resolve;
    if (!resolve) return;
    this.resolve = undefined;
    this.reason = undefined;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    resolve();
  }

  /** New work may be there: wakes an idle wait, or makes the next idle wait return at once. @returns true when it woke a wait */
  notify(): boolean {
    if (this.reason === 'idle') {
      this.wake();
      return true;
    }
    this.notified = true;
    return false;
  }

  /** A claim is about to look for work: earlier notifies are answered by it. */
  forgetNotify(): void {
    this.notified = false;
  }
}
