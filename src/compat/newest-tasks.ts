/** How many run ids the table holds before its first look for ones the registry no longer has. */
const FIRST_PRUNE_AT = 1024;

/**
 * The newest task each run id had in one sqlite-mode executor (started or adopted there), kept after
 * the run settled. Task ids only grow, so a task of the id met later is a new run (the id started
 * again, by another process) only when it is newer; an equal or older one belongs to a run that
 * settled here, whose outcome may not be in the store yet, or to one a newer start superseded.
 */
export class NewestTasks {
  private readonly byRun = new Map<string, number>();
  private pruneAt = FIRST_PRUNE_AT;

  /**
   * @param recorded whether the registry still holds the run id: ids it removed (cleanupOldRuns) are
   *   dropped whenever the table has doubled, so it grows no larger than the registry it follows
   */
  constructor(private readonly recorded: (runId: string) => boolean) {}

  /** Records that `taskId` is a task of `runId` here. */
  note(runId: string, taskId: number): void {
    const known = this.byRun.get(runId);
    if (known !== undefined && known >= taskId) return;
    this.byRun.set(runId, taskId);
    if (this.byRun.size >= this.pruneAt) this.prune();
  }

  /** True when `taskId` is no newer than the newest task of `runId` seen here: not a new run. */
  seen(runId: string, taskId: number): boolean {
    const known = this.byRun.get(runId);
    return known !== undefined && taskId <= known;
  }

  private prune(): void {
    for (const runId of this.byRun.keys()) if (!this.recorded(runId)) this.byRun.delete(runId);
    this.pruneAt = Math.max(FIRST_PRUNE_AT, 2 * this.byRun.size);
  }
}
