import type { Clock } from '../../src/core/clock';
import { ManualClock } from '../../src/core/clock';
import type { TaskEvents } from '../../src/queue/events';
import type {
  AttemptError, CancelOutcome, ClaimRequest, ClaimedTask, EnqueueRequest, EnqueueResult, FailOutcome, HeartbeatOutcome,
  Task, TaskCounts, TaskFilter, TaskStatus, TaskProgress, TaskStore, WorkerInfo, WorkerRecord,
} from '../../src/queue/types';

type Row = { -readonly [K in keyof Task]: Task[K] };

/**
 * A small in-memory TaskStore with real fencing and lease expiry, for worker tests that must
 * inject store behaviour (a slow claim, a busy error). Retries are scheduled without backoff.
 * The SQLite store is the reference; the integration tests run against it.
 */
export class FakeStore implements TaskStore {
  readonly rows = new Map<number, Row>();
  readonly workers = new Map<string, WorkerRecord>();
  readonly calls: string[] = [];
  private seq = 0;

  constructor(readonly clock: Clock = new ManualClock(), private readonly events?: TaskEvents) {}

  async enqueue<P>(r: EnqueueRequest<P>): Promise<EnqueueResult<P>> {
    const now = this.clock.now();
    const row: Row = {
      id: ++this.seq, queue: r.queue ?? 'default', type: r.type, payload: (r.payload ?? null) as unknown, priority: r.priority ?? 100,
      status: 'queued', attempts: 0, maxAttempts: r.maxAttempts ?? 3, runAfter: new Date(now), leaseOwner: null,
      leaseExpiresAt: null, leaseToken: 0, cancelRequested: false, createdAt: new Date(now), startedAt: null, finishedAt: null,
      lastError: null, result: null, progress: null, idempotencyKey: r.idempotencyKey ?? null, requires: r.requires ?? null,
      timeoutMs: typeof r.timeout === 'number' ? r.timeout : null, backoff: { baseMs: 0, factor: 2, capMs: 0, jitter: 0 },
    };
    this.rows.set(row.id, row);
    this.events?.emit('enqueued', { task: { ...row } });
    return { task: { ...row } as Task<P>, created: true };
  }

  async enqueueBatch<P>(requests: readonly EnqueueRequest<P>[]): Promise<EnqueueResult<P>[]> {
    const out: EnqueueResult<P>[] = [];
    for (const r of requests) out.push(await this.enqueue(r));
    return out;
  }

  async claim(req: ClaimRequest): Promise<ClaimedTask[]> {
    this.calls.push('claim');
    const now = this.clock.now();
    const out: ClaimedTask[] = [];
    for (const row of this.rows.values()) {
      if (out.length >= req.limit) break;
      const expired = row.status === 'running' && row.leaseExpiresAt !== null && row.leaseExpiresAt.getTime() <= now;
      if (expired && row.attempts >= row.maxAttempts) {
        Object.assign(row, { status: 'failed', lastError: 'lease expired', leaseOwner: null });
        continue;
      }
      if (!(row.status === 'queued' && row.runAfter.getTime() <= now) && !expired) continue;
      if (row.queue !== (req.queue ?? 'default') || (req.types && !req.types.includes(row.type))) continue;
      Object.assign(row, {
        status: 'running', attempts: row.attempts + 1, leaseOwner: req.workerId, leaseToken: row.leaseToken + 1,
        leaseExpiresAt: new Date(now + req.leaseMs), startedAt: new Date(now),
      });
      out.push({ task: { ...row }, token: row.leaseToken });
    }
    return out;
  }

  private held(id: number, token: number): Row | undefined {
    const row = this.rows.get(id);
    return row && row.status === 'running' && row.leaseToken === token ? row : undefined;
  }

  async heartbeat(id: number, token: number, leaseMs: number): Promise<HeartbeatOutcome> {
    this.calls.push(`heartbeat:${id}`);
    const row = this.held(id, token);
    if (!row) return 'lost';
    row.leaseExpiresAt = new Date(this.clock.now() + leaseMs);
    return row.cancelRequested ? 'cancel-requested' : 'extended';
  }

  async reportProgress(id: number, token: number, progress: TaskProgress): Promise<boolean> {
    const row = this.held(id, token);
    if (row) row.progress = progress;
    return row !== undefined;
  }

  async complete(id: number, token: number, result?: unknown): Promise<boolean> {
    this.calls.push(`complete:${id}`);
    const row = this.held(id, token);
    if (row) Object.assign(row, { status: 'completed', result: result ?? null, finishedAt: new Date(this.clock.now()), leaseOwner: null });
    return row !== undefined;
  }

  async fail(id: number, token: number, error: AttemptError): Promise<FailOutcome> {
    this.calls.push(`fail:${id}`);
    const row = this.held(id, token);
    if (!row) return 'lost';
    const dead = error.retryable === false || row.attempts >= row.maxAttempts;
    Object.assign(row, { status: dead ? 'failed' : 'queued', lastError: error.message, leaseOwner: null, leaseExpiresAt: null });
    return dead ? 'dead' : 'retry-scheduled';
  }

  async acknowledgeCancel(id: number, token: number): Promise<boolean> {
    this.calls.push(`acknowledgeCancel:${id}`);
    const row = this.held(id, token);
    if (row) Object.assign(row, { status: 'cancelled', leaseOwner: null });
    return row !== undefined;
  }

  async release(id: number, token: number): Promise<boolean> {
    this.calls.push(`release:${id}`);
    const row = this.held(id, token);
    if (row) Object.assign(row, { status: 'queued', attempts: row.attempts - 1, leaseOwner: null, leaseExpiresAt: null });
    return row !== undefined;
  }

  async cancel(id: number): Promise<CancelOutcome> {
    const row = this.rows.get(id);
    if (!row) return 'not-found';
    if (row.status === 'queued') row.status = 'cancelled';
    else if (row.status === 'running') row.cancelRequested = true;
    else return 'already-finished';
    return row.status === 'cancelled' ? 'cancelled' : 'cancel-requested';
  }

  async retry(id: number): Promise<Task> {
    const row = this.rows.get(id)!;
    Object.assign(row, { status: 'queued', attempts: 0 });
    return { ...row };
  }

  async get(id: number): Promise<Task | undefined> {
    const row = this.rows.get(id);
    return row && { ...row };
  }

  async getByIdempotencyKey(): Promise<Task | undefined> {
    return undefined;
  }

  async list(filter: TaskFilter = {}): Promise<Task[]> {
    const statuses = filter.status === undefined ? undefined : ([] as TaskStatus[]).concat(filter.status);
    return [...this.rows.values()].filter((r) => !statuses || statuses.includes(r.status)).map((r) => ({ ...r }));
  }

  async counts(): Promise<TaskCounts> {
    throw new Error('not used by worker tests');
  }

  async registerWorker(info: WorkerInfo): Promise<void> {
    const now = new Date(this.clock.now());
    this.workers.set(info.workerId, { ...info, startedAt: now, lastSeenAt: now });
  }

  async touchWorker(workerId: string): Promise<void> {
    const w = this.workers.get(workerId);
    if (w) this.workers.set(workerId, { ...w, lastSeenAt: new Date(this.clock.now()) });
  }

  async unregisterWorker(workerId: string): Promise<void> {
    this.workers.delete(workerId);
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    return [...this.workers.values()];
  }

  async close(): Promise<void> {}
}
