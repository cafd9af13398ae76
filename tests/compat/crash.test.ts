import path from 'node:path';
import Database from 'better-sqlite3';
import { SHADOW_QUEUE } from '../../src/compat';
import { tempDb, until } from './helpers';
import { dbSays, markers, spawnApp, within } from './process-helpers';

/** TASKBRIDGE_LEASE of these tests' processes. */
const LEASE_MS = 1_000;

/** Every unfinished row's lease has expired: a new process may take it over as an orphan. */
const LEASES_EXPIRED = "SELECT NOT EXISTS (SELECT 1 FROM tasks WHERE status IN ('queued', 'running') AND lease_expires_at > @now) AS ok";
/** ... and no worker row was seen for two leases: no process counts the owner as alive. */
const OWNER_STALE = `SELECT (${LEASES_EXPIRED}) AND NOT EXISTS (SELECT 1 FROM workers WHERE last_seen_at >= @now - 2 * @leaseMs) AS ok`;
/** The mirror rows of s1 and s2 say `running`. */
const S1_S2_MIRRORED_RUNNING = "SELECT COUNT(*) = 2 AS ok FROM tasks WHERE queue = @queue AND idempotency_key IN ('s1', 's2') AND status = 'running'";

describe('crash in sqlite mode', () => {
  it('a run whose process is SIGKILLed mid-run is completed by the restarted process, once', async () => {
    const db = tempDb();
    const marker = path.join(db.dir, 'markers');
    const env = { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LEASE: `${LEASE_MS}ms`, TASKBRIDGE_POLL_INTERVAL: '50ms' };
    try {
      const first = spawnApp(env, { start: ['r1'], hang: true, marker });
      await until(() => first.out().includes('RUNNING r1'), 'the first process to run r1');
      first.child.kill('SIGKILL');
      await first.exited;

      const second = spawnApp(env, { start: [], hang: false, marker });
      const code = await within(second.exited, 'the restarted process to finish and exit by itself');
      expect(code).toBe(0);
      const runs = JSON.parse(second.out().trim().split('\n').pop()!) as { runId: string; status: string }[];
      expect(runs).toEqual([{ runId: 'r1', status: 'completed' }]);
      expect(markers(marker).filter((l) => l.startsWith('done'))).toEqual(['done r1 sqlite']);
      const raw = new Database(db.dbPath, { readonly: true });
      const rows = raw.prepare("SELECT status, attempts FROM tasks WHERE idempotency_key = 'r1'").all();
      raw.close();
      expect(rows).toEqual([{ status: 'completed', attempts: 2 }]);
    } finally {
      db.remove();
    }
  });
});

describe('process exit and lost closures', () => {
  it.each(['shadow', 'sqlite'])('a %s-mode process whose runs have settled exits on its own', async (mode) => {
    const db = tempDb();
    const marker = path.join(db.dir, 'markers');
    try {
      const app = spawnApp({ TASKBRIDGE_MODE: mode, TASKBRIDGE_DB_PATH: db.dbPath }, { start: ['e1', 'e2'], hang: false, marker });
      expect(await within(app.exited, `${mode} process to exit after waitAll`, 15_000)).toBe(0);
      expect(app.out()).toContain('"runId":"e1","status":"completed"');
    } finally {
      db.remove();
    }
  });

  it('a sqlite-mode run whose closure died with its process and has no handler is failed, saying so', async () => {
    const db = tempDb();
    const marker = path.join(db.dir, 'markers');
    const env = { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LEASE: `${LEASE_MS}ms`, TASKBRIDGE_POLL_INTERVAL: '50ms' };
    try {
      const first = spawnApp(env, { start: ['lost-1'], hang: true, marker, module: 'no-handler' });
      await until(() => first.out().includes('RUNNING lost-1'), 'the run to start');
      first.child.kill('SIGKILL');
      await first.exited;
      await until(() => dbSays(db.dbPath, OWNER_STALE, { leaseMs: LEASE_MS }), 'the dead owner\'s lease and worker row to go stale');
      const second = spawnApp(env, { start: [], hang: false, marker });
      expect(await within(second.exited, 'the second process')).toBe(0);
      const raw = new Database(db.dbPath, { readonly: true });
      const row = raw.prepare("SELECT status, last_error AS error FROM tasks WHERE idempotency_key = 'lost-1'").get() as { status: string; error: string };
      raw.close();
      expect(row.status).toBe('failed');
      expect(row.error).toMatch(/closure passed to startTask is gone.*no handler is registered for module no-handler/);
    } finally {
      db.remove();
    }
  });
});

describe('mode flips with runs in flight', () => {
  it('memory -> shadow -> sqlite -> memory: every run accounted for, none run to completion twice', async () => {
    const db = tempDb();
    const marker = path.join(db.dir, 'markers');
    const base = { TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LEASE: `${LEASE_MS}ms`, TASKBRIDGE_POLL_INTERVAL: '50ms', TASKBRIDGE_MIRROR_FLUSH_DELAY: '5ms' };
    try {
      // memory: runs finish before the process exits (the legacy deploy drains with waitAll).
      const mem = spawnApp({ ...base, TASKBRIDGE_MODE: 'memory' }, { start: ['m1', 'm2'], hang: false, marker });
      expect(await within(mem.exited, 'memory phase')).toBe(0);

      // shadow: killed with s1, s2 running; their mirror rows stay behind as interrupted.
      const shadow = spawnApp({ ...base, TASKBRIDGE_MODE: 'shadow' }, { start: ['s1', 's2'], hang: true, marker });
      await until(() => shadow.out().includes('RUNNING s1') && shadow.out().includes('RUNNING s2'), 'shadow runs to start');
      await until(() => dbSays(db.dbPath, S1_S2_MIRRORED_RUNNING, { queue: SHADOW_QUEUE }), 'the mirror to show s1 and s2 running');
      shadow.child.kill('SIGKILL');
      await shadow.exited;
      await until(() => dbSays(db.dbPath, LEASES_EXPIRED), 'the mirror leases to expire');

      // sqlite: adopts s1, s2 from the mirror (handler registered) and is killed with q1, q2 running.
      const cut = spawnApp({ ...base, TASKBRIDGE_MODE: 'sqlite' }, { start: ['q1', 'q2'], hang: true, marker });
      await until(() => ['s1', 's2', 'q1', 'q2'].every((id) => cut.out().includes(`RUNNING ${id}`)), 'sqlite phase to run adopted and new runs', 20_000);
      cut.child.kill('SIGKILL');
      await cut.exited;
      await until(() => dbSays(db.dbPath, LEASES_EXPIRED), 'the queue leases to expire');

      // memory again (rollback): takes over everything the queue still holds and finishes it.
      const back = spawnApp({ ...base, TASKBRIDGE_MODE: 'memory' }, { start: [], hang: false, marker });
      expect(await within(back.exited, 'rollback phase')).toBe(0);
      const runs = (JSON.parse(back.out().trim().split('\n').pop()!) as { runId: string; status: string }[]).map((r) => `${r.runId}:${r.status}`).sort();
      expect(runs).toEqual(['q1:completed', 'q2:completed', 's1:completed', 's2:completed']);

      const done = markers(marker).filter((l) => l.startsWith('done')).map((l) => l.split(' ')[1]).sort();
      expect(done).toEqual(['m1', 'm2', 'q1', 'q2', 's1', 's2']);
      const raw = new Database(db.dbPath, { readonly: true });
      const open = raw.prepare("SELECT idempotency_key AS k, queue, status FROM tasks WHERE status IN ('queued', 'running')").all();
      raw.close();
      expect(open).toEqual([]);
    } finally {
      db.remove();
    }
  }, 90_000);
});
