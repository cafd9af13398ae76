import { InvalidOptionError } from '../core/errors';
import type { Run, RunHandlerOptions, TaskContext } from '../manager/types';
import type { ResolvedBackoff } from '../queue/backoff';
import { MAX_ATTEMPTS_LIMIT, validateBackoff, validateInteger } from '../queue/validation';

/**
 * A durable handler for one moduleId. Unlike the closure given to `startTask`, it can run in any
 * process that registered it, so runs of its module survive a restart and can be taken by other
 * worker processes. It receives a copy of the run (its `parameters` come from the queue's payload).
 */
export type RunHandler = (run: Readonly<Run>, ctx: TaskContext) => Promise<unknown>;

/** Attempts per run when the handler sets none: one try plus two crash recoveries. */
export const DEFAULT_RUN_ATTEMPTS = 3;

/** A module's retry policy with every default applied. */
export interface RunRetryPolicy {
  readonly maxAttempts: number;
  readonly retryFailures: boolean;
  /** undefined: the queue's default backoff. */
  readonly backoff: ResolvedBackoff | undefined;
}

const DEFAULT_POLICY: RunRetryPolicy = Object.freeze({ maxAttempts: DEFAULT_RUN_ATTEMPTS, retryFailures: false, backoff: undefined });
const OPTION_KEYS = new Set(['maxAttempts', 'retryFailures', 'backoff']);

/**
 * Validates registerHandler's options.
 * @throws InvalidOptionError naming the field, the value and what is accepted
 */
export function resolveRetryPolicy(options: RunHandlerOptions | undefined): RunRetryPolicy {
  if (options === undefined) return DEFAULT_POLICY;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError('registerHandler options', options, 'an object { maxAttempts?, retryFailures?, backoff? }');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new InvalidOptionError(`registerHandler options.${key}`, (options as Record<string, unknown>)[key], 'maxAttempts, retryFailures, backoff');
  }
  if (options.retryFailures !== undefined && typeof options.retryFailures !== 'boolean') {
    throw new InvalidOptionError('retryFailures', options.retryFailures, 'true or false');
  }
  return Object.freeze({
    maxAttempts: options.maxAttempts === undefined ? DEFAULT_RUN_ATTEMPTS : validateInteger('maxAttempts', options.maxAttempts, 1, MAX_ATTEMPTS_LIMIT),
    retryFailures: options.retryFailures ?? false,
    backoff: options.backoff === undefined ? undefined : validateBackoff(options.backoff),
  });
}

/** Handlers and their retry policies by moduleId, shared by the executors of one manager. */
export class RunHandlerMap {
  private readonly byModule = new Map<string, { readonly handler: RunHandler; readonly policy: RunRetryPolicy }>();

  /** @throws InvalidOptionError for invalid options, before anything is registered */
  set(moduleId: string, handler: RunHandler, options?: RunHandlerOptions): void {
    this.byModule.set(moduleId, { handler, policy: resolveRetryPolicy(options) });
  }

  get(moduleId: string): RunHandler | undefined {
    return this.byModule.get(moduleId)?.handler;
  }

  has(moduleId: string): boolean {
    return this.byModule.has(moduleId);
  }

  /** The module's retry policy; the default (failures final) when no handler is registered. */
  policy(moduleId: string): RunRetryPolicy {
    return this.byModule.get(moduleId)?.policy ?? DEFAULT_POLICY;
  }

  /** How many modules have a handler. */
  get size(): number {
    return this.byModule.size;
  }

  moduleIds(): string[] {
    return [...this.byModule.keys()];
  }
}
