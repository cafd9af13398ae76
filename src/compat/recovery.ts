import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { describeThrown } from '../manager/run-lifecycle';
import type { Run } from '../manager/types';
import type { MirrorStore, StoredRunRow } from '../queue/sqlite/mirror-store';
import type { Task } from '../queue/types';
import { fromPayload, moduleIdOf, OWNER_CAPABILITY, RUN_QUEUE, SHADOW_QUEUE, runFromRow, runIdOf, taskType } from './run-payload';
import type { SqliteRunExecutorOptions } from './sqlite-executor';

export { OWNER_CAPABILITY } from './run-payload';

/** Extra attempts an adopted shadow run gets in the work queue. */
const ADOPTED_ATTEMPTS = 3;

/** Options of {@link RunRecovery}. */
export interface RunRecoveryOptions
  extends Pick<SqliteRunExecutorOptions, 'store' | 'side' | 'registry' | 'handlers' | 'clock' | 'logger' | 'leaseMs'> {
  owner: string;
  /** Makes a recovered run one of this manager's active runs. */
  adopt(task: Task, run: Run): void;
}

/**
 * Tags owner ids with their host, so that only processes on the same host (which share pid
 * numbers; a SQLite file in WAL mode is shared by one host's processes anyway) test each other's pid.
 * Hashed: a host name can be longer than a worker id may be.
 */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
/** `tb-<host tag>-<pid>-<random>`, then `-<worker suffix>` in a worker id; older ids have no host tag. */
const OWNER_ID = /^(tb-(?:([0-9a-f]{8})-)?(\d+)-[0-9a-f]{12})(?:-|$)/;
/** Owner ids made in this process: another id with this pid belonged to an earlier process. */
const madeHere = new Set<string>();

/** A new executor identity (see {@link ownerProcessGone} for what it lets other processes tell). */
export function newOwnerId(): string {
  const owner = `tb-${HOST_TAG}-${process.pid}-${randomBytes(6).toString('hex')}`;
  madeHere.add(owner);
  return owner;
}

/** The executor identity a worker id (a lease owner) belongs to; undefined for a worker of no sqlite-mode executor. */
export function ownerOfWorker(workerId: string): string | undefined {
  return OWNER_ID.exec(workerId)?.[1];
}

/**
 * True when the process of `owner` has certainly ended: it ran on this host under a pid that no
 * process has now, or that this process has although it did not make that id (a restart that got
 * the same pid, as a container's first process does). A worker row stays fresh for two leases after
 * a crash; this tells at once, so a restarted process recovers its predecessor's runs right away.
 * False whenever it cannot tell (another host, an older id, a pid in use): the rows decide then.
 */
export function ownerProcessGone(owner: string): boolean {
  const m = OWNER_ID.exec(owner);
  if (m === null || m[2] !== HOST_TAG) return false;
  const pid = Number(m[3]);
  if (pid === process.pid) return !madeHere.has(m[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // EPERM: the pid exists (another user's process), so nothing is known.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Owners (executor identities) with a worker seen within two leases: a run pinned to one of them
 * still has its closure in a live process.
 */
function liveOwners(side: MirrorStore, now: number, leaseMs: number): Set<string> {
  const owners = new Set<string>();
  for (const caps of side.liveWorkerCapabilities(now - 2 * leaseMs)) {
    const owner = caps[OWNER_CAPABILITY];
    if (owner !== undefined) owners.add(owner);
  }
  return owners;
}

/**
 * Owners whose process is alive: a worker seen within two leases ({@link liveOwners}) and, on this
 * host, a pid that still exists ({@link ownerProcessGone}), so a crashed process counts as gone at
 * once. Each owner's pid is probed once.
 */
export function aliveOwners(side: MirrorStore, now: number, leaseMs: number): Set<string> {
  return new Set([...liveOwners(side, now, leaseMs)].filter((owner) => !ownerProcessGone(owner)));
}

/** Why a run pinned to a process that ended cannot run: recorded as its error, so it names the remedy. */
export function closureGoneMessage(runId: string, moduleId: string): string {
  return `Run ${runId} of module ${moduleId} cannot run: the closure passed to startTask is gone (its process ended) and no handler is registered for module ${moduleId}; use manager.registerHandler(moduleId, handler)`;
}

/** Rebuilds the legacy run record of a task this process did not start. */
export function runFromTask(task: Task): Run {
  return runFromRow({
    key: task.idempotencyKey, type: task.type, status: task.status === 'running' ? 'queued' : task.status,
    createdAt: task.createdAt, startedAt: null, finishedAt: task.finishedAt, lastError: task.lastError, payload: task.payload,
  });
}

/**
 * Finds runs whose process is gone and gives each a future: resumed by a registered handler
 * (crash recovery, and shadow runs handed to the queue at cutover), or failed with a message
 * that says why when nothing can run them (never silently dropped). Runs that a live process
 * owns (see {@link RunRecovery.recoverModules}) are left to it: a manager's waitAll and active
 * counts are about its own runs.
 */
export class RunRecovery {
  private sweepTimer: NodeJS.Immediate | undefined;
  /** The sweep again, for runs it could not fail yet (see sweep). */
  private resweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: RunRecoveryOptions) {}

  /**
   * Sweeps once, on the next turn: handlers registered right after the manager was built are in
   * place by then, so their runs are resumed rather than failed.
   */
  scheduleSweep(): void {
    if (this.o.side === undefined) return;
    // Ref'd on purpose: it runs once on the next turn (so even a process that exits right away
    // settles the orphans it can see) and leaves nothing behind on the event loop.
    this.sweepTimer = setImmediate(() => this.sweep());
  }

  stop(): void {
    if (this.sweepTimer !== undefined) clearImmediate(this.sweepTimer);
    clearTimeout(this.resweepTimer);
    this.resweepTimer = undefined;
  }

  /**
   * One look over `moduleIds`: adopts each module's unfinished runs in the work queue that this
   * manager does not know and no live process owns (see {@link recoverModule}). The worker table
   * and the shadow queue's orphans are read once for all the modules; the work queue is listed per
   * module, each list bounded as before, so one module's backlog never hides another's runs.
   */
  recoverModules(moduleIds: readonly string[], known: (runId: string) => boolean): void {
    const side = this.o.side;
    if (side === undefined || moduleIds.length === 0) return;
    let others: Set<string>;
    let shadowOrphans: StoredRunRow[];
    try {
      others = aliveOwners(side, this.o.clock.now(), this.o.leaseMs);
      others.delete(this.o.owner);
      shadowOrphans = side.listOrphans(SHADOW_QUEUE);
    } catch (err) {
      this.o.logger.error('could not recover runs from the queue', { moduleIds, error: describeThrown(err) });
      return;
    }
    for (const moduleId of moduleIds) this.recoverModule(side, moduleId, known, others, shadowOrphans);
  }

  /**
   * Adopts the unfinished runs of `moduleId` in the work queue that this manager does not know and
   * no live process owns. Another live process owns a run when it is pinned to it (its closure),
   * when it started the run (its registry has it and its worker claims it), or when one of its
   * workers holds the run's lease. A run is live-owned by a process whose worker row is fresh
   * (two leases) and whose pid, on this host, still exists ({@link ownerProcessGone}).
   * @param others the owners of the other live processes
   * @param shadowOrphans the shadow queue's orphans, of every module
   */
  private recoverModule(side: MirrorStore, moduleId: string, known: (runId: string) => boolean, others: ReadonlySet<string>, shadowOrphans: readonly StoredRunRow[]): void {
    try {
      // Shadow runs interrupted by a dead shadow-mode process move into the work queue once.
      for (const row of shadowOrphans) {
        if (moduleIdOf(row.type, row.payload) !== moduleId) continue;
        const runId = runIdOf(row.key, row.payload);
        if (runId !== null && !known(runId)) side.adopt(row.id, RUN_QUEUE, ADOPTED_ATTEMPTS);
      }
      // Newest first (the list's order): of two unfinished tasks of one run id (a run started again
      // while its previous task was settling), the newer is the run; the older one is superseded.
      const tasks = this.o.store.listSync({ status: ['queued', 'running'], type: taskType(moduleId), queue: RUN_QUEUE, limit: 10_000 });
      const now = this.o.clock.now();
      for (const task of tasks) {
        const runId = runIdOf(task.idempotencyKey, task.payload);
        if (runId === null || known(runId) || this.ownedElsewhere(task, others, now)) continue;
        const pin = task.requires?.[OWNER_CAPABILITY];
        // Pinned to a process that is gone: its closure went with it, so this handler runs it.
        if (pin !== undefined && pin !== this.o.owner) side.clearRequires(task.id);
        this.o.adopt(task, runFromTask(task));
      }
    } catch (err) {
      this.o.logger.error('could not recover runs from the queue', { moduleId, error: describeThrown(err) });
    }
  }

  /** A task the worker claimed that this manager does not track: adopt it so the registry answers. */
  adoptClaimed(task: Task): void {
    const run = runFromTask(task);
    if (run.runId === '') return;
    this.o.adopt(task, run);
  }

  /**
   * Fails pinned runs whose owner process is gone and whose module has no handler here: their
   * closure died with that process and nothing here can run them. An owner whose worker rows are
   * fresh (two leases) is left that long even when its pid is free (a restart right after a crash):
   * a process that registered the module's handler takes its runs over meanwhile. Runs left for that
   * reason, or held under a lease not yet run out, are looked at again once both have passed
   * (unref'd: a process that exits first leaves them to the next start).
   */
  private sweep(): void {
    this.resweepTimer = undefined;
    const side = this.o.side;
    if (side === undefined) return;
    try {
      const live = this.liveOwners(side);
      // One pid probe per owner, not per run.
      const gone = new Map<string, boolean>();
      const processGone = (owner: string): boolean => {
        if (!gone.has(owner)) gone.set(owner, ownerProcessGone(owner));
        return gone.get(owner)!;
      };
      const tasks = this.o.store.listSync({ status: ['queued', 'running'], queue: RUN_QUEUE, limit: 10_000 });
      const now = this.o.clock.now();
      let again: number | undefined;
      const lookAgainAt = (at: number): void => {
        again = Math.max(again ?? 0, at);
      };
      for (const task of tasks) {
        const pin = task.requires?.[OWNER_CAPABILITY];
        const moduleId = moduleIdOf(task.type, task.payload);
        if (pin === undefined || pin === this.o.owner || this.o.handlers.has(moduleId)) continue;
        if (live.has(pin)) {
          // Its rows count it live until two leases after they were last written (at most from now).
          if (processGone(pin)) lookAgainAt(now + 2 * this.o.leaseMs);
          continue;
        }
        const runId = runIdOf(task.idempotencyKey, task.payload);
        const message = closureGoneMessage(runId ?? String(task.id), moduleId);
        if (side.failOrphan(task.id, message)) {
          this.o.logger.error('run failed: closure gone and no handler', { runId, taskId: task.id, moduleId });
        } else if (task.leaseExpiresAt !== null && task.leaseExpiresAt.getTime() > now) {
          lookAgainAt(task.leaseExpiresAt.getTime());
        }
      }
      if (again !== undefined) {
        this.resweepTimer = setTimeout(() => this.sweep(), again - now + 1);
        this.resweepTimer.unref();
      }
    } catch (err) {
      this.o.logger.warn('orphan sweep failed; it runs again at the next start', { error: describeThrown(err) });
    }
  }

  /**
   * True when a live process other than this one owns the task's run (see {@link recoverModule}).
   * @param others the owners of the other live processes
   */
  private ownedElsewhere(task: Task, others: ReadonlySet<string>, now: number): boolean {
    const otherLive = (owner: string | undefined): boolean => owner !== undefined && others.has(owner);
    if (otherLive(task.requires?.[OWNER_CAPABILITY])) return true;
    // A payload without its starter (written by another producer) has no one to ask: adopted as
    // before the starter was consulted, unless the lease below says a live worker has it.
    if (otherLive(fromPayload(task.payload).owner)) return true;
    if (task.status !== 'running' || task.leaseOwner === null || task.leaseExpiresAt === null) return false;
    // An expired lease is taken back by the next claim, so the run is free to be ours.
    if (task.leaseExpiresAt.getTime() <= now) return false;
    const holder = ownerOfWorker(task.leaseOwner);
    // A worker of no sqlite-mode executor (a CLI worker, a rollback takeover) has no owner to look
    // up; the lease it keeps renewing is its sign of life.
    return holder === undefined || otherLive(holder);
  }

  /** The live owners, this executor always among them. */
  private liveOwners(side: MirrorStore): Set<string> {
    return liveOwners(side, this.o.clock.now(), this.o.leaseMs).add(this.o.owner);
  }
}
