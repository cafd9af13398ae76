import { InvalidOptionError } from '../core/errors';
import { parseDuration, type Duration } from '../core/duration';
import type { Task, TaskProgress } from './types';
import { refuseUnknownKeys } from '../core/options';
import { validateName } from './validation';

/** What a handler receives besides its payload. */
export interface HandlerContext<P = unknown> {
  readonly taskId: number;
  /** 1 for the first attempt; counts every claim of the task, including ones whose lease expired. */
  readonly attempt: number;
  /**
   * Aborted when the task times out, is cancelled, its lease is lost, or the worker stops past its
   * deadline. `signal.reason` says which. A handler that ignores it is not killed, but its result is
   * no longer recorded once the attempt is over.
   */
  readonly signal: AbortSignal;
  /** Records progress under the task's lease; resolves false when the lease was lost. */
  reportProgress(progress: TaskProgress): Promise<boolean>;
  /** The task as claimed. */
  readonly task: Task<P>;
}

/**
 * A task handler. Its resolved value is stored as the task's JSON result; a throw (or rejection)
 * fails the attempt, skipping the remaining ones when the error has `retryable === false`.
 */
export type TaskHandler<P = unknown, R = unknown> = (payload: P, ctx: HandlerContext<P>) => Promise<R> | R;

/** Per-type handler options. */
export interface HandlerOptions {
  /** Attempt time limit for tasks of this type that were enqueued without their own `timeout`. */
  timeout?: Duration;
  /**
   * Claim tasks of this type only when their `requires` names this worker's capabilities (tasks
   * pinned to it), never tasks without requirements, which are left to workers that handle the
   * type in general. Default false. See {@link ClaimRequest.pinnedTypes}.
   */
  pinnedOnly?: boolean;
}

/** A registered handler with its resolved options. */
export interface RegisteredHandler {
  readonly type: string;
  readonly handler: TaskHandler<unknown>;
  /** Fallback attempt time limit in ms, or null for none. */
  readonly timeoutMs: number | null;
  /** See {@link HandlerOptions.pinnedOnly}. */
  readonly pinnedOnly: boolean;
}

const HANDLER_OPTION_KEYS: ReadonlySet<string> = new Set(['timeout', 'pinnedOnly']);

/**
 * Handlers by task type. A worker claims only the types registered here, so a worker never leases
 * a task it cannot run. Bound in the container as `TYPES.HandlerRegistry`.
 */
export class HandlerRegistry {
  private readonly handlers = new Map<string, RegisteredHandler>();
  /** Cached for the claim hot path; rebuilt on every change. */
  private typeList: readonly string[] = [];
  private pinnedList: readonly string[] = [];

  /**
   * Registers the handler of one task type.
   * @typeParam P the payload type tasks of this type are enqueued with
   * @throws InvalidOptionError when the type is malformed or taken, the handler is not a function,
   *   or an option is unknown or invalid
   */
  register<P = unknown, R = unknown>(type: string, handler: TaskHandler<P, R>, options: HandlerOptions = {}): this {
    // The store's rule for names: a type a claim refuses would fail every claim of the worker.
    validateName('type', type);
    if (this.handlers.has(type)) {
      throw new InvalidOptionError('type', type, `a type not already registered (taken: ${this.types().join(', ')})`);
    }
    if (typeof handler !== 'function') {
      throw new InvalidOptionError(`handler of ${type}`, handler, 'a function (payload, ctx) => Promise<result>');
    }
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError(`options of ${type}`, options, `an object with keys ${[...HANDLER_OPTION_KEYS].join(', ')}`);
    }
    refuseUnknownKeys('handler option ', options, HANDLER_OPTION_KEYS);
    const timeoutMs = options.timeout === undefined ? null : parseDuration('timeout', options.timeout);
    if (timeoutMs === 0) throw new InvalidOptionError('timeout', options.timeout, 'a duration greater than 0');
    const pinnedOnly = options.pinnedOnly ?? false;
    if (typeof pinnedOnly !== 'boolean') throw new InvalidOptionError('pinnedOnly', options.pinnedOnly, 'true or false');
    this.handlers.set(type, { type, handler: handler as TaskHandler<unknown>, timeoutMs, pinnedOnly });
    this.rebuildLists();
    return this;
  }

  /** Removes a type's handler; running workers stop claiming it at their next claim. */
  unregister(type: string): boolean {
    const removed = this.handlers.delete(type);
    this.rebuildLists();
    return removed;
  }

  private rebuildLists(): void {
    this.typeList = [...this.handlers.keys()];
    this.pinnedList = [...this.handlers.values()].filter((h) => h.pinnedOnly).map((h) => h.type);
  }

  /** The handler of `type`, or undefined. */
  get(type: string): RegisteredHandler | undefined {
    return this.handlers.get(type);
  }

  /** True when `type` has a handler, i.e. a worker would claim tasks of it. */
  has(type: string): boolean {
    return this.handlers.has(type);
  }

  /** The registered types, in registration order. */
  types(): readonly string[] {
    return this.typeList;
  }

  /** The registered types whose handler is {@link HandlerOptions.pinnedOnly}, in registration order. */
  pinnedTypes(): readonly string[] {
    return this.pinnedList;
  }

  /** How many types have a handler. */
  get size(): number {
    return this.handlers.size;
  }
}
