import { InvalidOptionError } from '../../core/errors';
import type { SortKey, Strategy } from '../../strategies/types';
import type { ClaimedTask, ClaimRequest } from '../types';
import { normalizeClaimRequest, type NormalizedClaim } from '../validation';
import { emitIf, type StoreContext } from './context';
import { rowToTask, type TaskRow } from './rows';
import { claimOrder, compareBy, type ClaimOrder } from './sql/claim';

/** What a claim transaction wrote: leases it took back, and the rows it claimed. */
export interface ClaimRows {
  readonly expired: TaskRow[];
  readonly claimed: TaskRow[];
}

/**
 * One claim, validated and resolved to its SQL order before any transaction starts, so bad input
 * is refused with nothing written. {@link ClaimPlan.run} is the part that runs under the write
 * lock; {@link ClaimPlan.finish} turns its rows into claimed tasks and announces them afterwards.
 */
export class ClaimPlan {
  private readonly c: NormalizedClaim;
  private readonly strategy: Strategy;
  private readonly keys: readonly SortKey[];
  private readonly order: ClaimOrder;

  /** @throws InvalidOptionError naming the bad field */
  constructor(private readonly ctx: StoreContext, request: ClaimRequest) {
    this.c = normalizeClaimRequest(request, ctx.options.leaseMs);
    this.strategy = request.strategy;
    this.keys = strategyOrder(this.strategy);
    const level = this.strategy.kind === 'level-picking';
    this.order = claimOrder(level ? 'strategy.withinLevel' : 'strategy.order', this.keys, level);
  }

  /** True when the worker registered no type, so there is nothing it could claim. */
  get empty(): boolean {
    return this.c.typeCount === 0;
  }

  /** Takes back expired leases, then claims in strategy order. Caller holds the IMMEDIATE transaction. */
  run(now: number): ClaimRows {
    const { claim, options } = this.ctx;
    const expired = claim.takeBackExpired(now);
    const strategy = this.strategy;
    const claimed = this.empty
      ? []
      : strategy.kind === 'level-picking'
        ? claim.claimLevelPicking(this.c, strategy, this.order, now, options.random)
        : claim.claimRows(this.c, this.order, now, this.c.limit);
    return { expired, claimed };
  }

  /** After the commit: announces taken-back leases and started tasks, returns the claims in strategy order. */
  finish({ expired, claimed }: ClaimRows): ClaimedTask[] {
    if (expired.length > 0) announceTakenBack(this.ctx, expired);
    if (claimed.length > 1 && this.strategy.kind === 'ordered') claimed.sort(compareBy(this.keys));
    const out: ClaimedTask[] = new Array(claimed.length);
    const events = this.ctx.options.events;
    const announce = events.has('started');
    for (let i = 0; i < claimed.length; i++) {
      const task = rowToTask(claimed[i]!);
      out[i] = { task, token: task.leaseToken };
      if (announce) events.emit('started', { task, workerId: this.c.workerId });
    }
    return out;
  }
}

function announceTakenBack(ctx: StoreContext, rows: TaskRow[]): void {
  ctx.options.logger.info('took back expired leases', { count: rows.length, taskIds: rows.slice(0, 20).map((r) => r.id) });
  for (const row of rows) {
    if (row.status === 'queued') {
      // An attempt lost to an expired lease failed like a thrown one: 'failed' says so before 'retried'.
      emitIf(ctx, 'failed', () => ({ task: rowToTask(row), error: row.last_error ?? '', willRetry: true }));
      emitIf(ctx, 'retried', () => ({ task: rowToTask(row), runAfter: new Date(row.run_after) }));
    } else if (row.status === 'cancelled') {
      emitIf(ctx, 'cancelled', () => ({ task: rowToTask(row) }));
    } else {
      emitIf(ctx, 'failed', () => ({ task: rowToTask(row), error: row.last_error ?? '', willRetry: false }));
      emitIf(ctx, 'dead', () => ({ task: rowToTask(row), error: row.last_error ?? '' }));
    }
  }
}

/** The sort keys a strategy claims by. @throws InvalidOptionError for something that is not a Strategy */
export function strategyOrder(strategy: Strategy): readonly SortKey[] {
  if (strategy === null || typeof strategy !== 'object' || (strategy.kind !== 'ordered' && strategy.kind !== 'level-picking')) {
    throw new InvalidOptionError('strategy', strategy, "a Strategy object of kind 'ordered' or 'level-picking'");
  }
  if (strategy.kind === 'level-picking' && typeof strategy.pickLevel !== 'function') {
    throw new InvalidOptionError('strategy.pickLevel', strategy.pickLevel, 'a function (levels, random) => priority | undefined');
  }
  return strategy.kind === 'ordered' ? strategy.order : strategy.withinLevel;
}
