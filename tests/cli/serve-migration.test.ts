import { runCli, runJson, startCli, useWorkspace } from './helpers';

// A Prometheus text-format line: a comment (# HELP / # TYPE) or `name{labels} value`.
const COMMENT = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/;
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.]+(e[+-]?[0-9]+)?|NaN|[+-]Inf)$/;

describe('taskbridge serve, mode and parity', () => {
  const ws = useWorkspace();

  it('serve exposes /metrics in valid Prometheus text and /health as JSON on 127.0.0.1, then stops on SIGTERM', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'email', '--queue', 'mail']);
    await runCli(['--db', ws.db, 'enqueue', 'report']);
    const server = startCli(['--db', ws.db, 'serve', '--port', '0', '--json']);
    try {
      const [, port] = await server.waitForOutput(/"port": (\d+)/);
      const base = `http://127.0.0.1:${port}`;

      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await metrics.text();
      const lines = text.split('\n').filter((l) => l !== '');
      for (const line of lines) expect({ line, valid: COMMENT.test(line) || SAMPLE.test(line) }).toEqual({ line, valid: true });
      expect(lines).toContain('taskbridge_tasks{status="queued"} 2');
      expect(lines).toContain('taskbridge_tasks_by_queue{queue="mail",status="queued"} 1');
      expect(lines).toContain('taskbridge_tasks_by_type{type="report",status="queued"} 1');
      expect(lines).toContain('# TYPE taskbridge_workers gauge');
      expect(lines.some((l) => /^taskbridge_database_bytes \d+$/.test(l))).toBe(true);

      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ healthy: true });
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });

  it('serve refuses a port out of range with exit 2 and a missing database with exit 1', async () => {
    expect((await runCli(['--db', ws.db, 'serve', '--port', '70000'])).code).toBe(2);
    expect((await runCli(['--db', ws.db, 'serve', '--port', '0'])).code).toBe(1);
  });

  it('mode reports the effective mode and routing from the environment', async () => {
    const memory = await runCli(['--db', ws.db, 'mode'], { env: { TASKBRIDGE_MODE: '' } });
    expect(memory.code).toBe(0);
    expect(memory.stdout).toMatch(/^mode:\s+memory$/m);
    expect(memory.stdout).toMatch(/^database:\s+.*queue\.db$/m);

    const canary = await runJson<{ config: { mode: string; rolloutPercent: number }; routing: { canary: boolean }; route: { destination: string; bucket: number } }>(
      ['--db', ws.db, 'mode', '--route', 'run-1', '--module', 'reports'],
      { env: { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_SQLITE_MODULES: 'reports', TASKBRIDGE_ROLLOUT_PERCENT: '100' } },
    );
    expect(canary.code).toBe(0);
    expect(canary.json).toMatchObject({ config: { mode: 'sqlite' }, routing: { canary: true }, route: { destination: 'sqlite' } });
    const other = await runJson<{ route: { destination: string } }>(['--db', ws.db, 'mode', '--route', 'run-1', '--module', 'emails'], {
      env: { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_SQLITE_MODULES: 'reports' },
    });
    expect(other.json.route.destination).toBe('memory');

    const inMemory = await runCli(['mode'], { env: { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: ':memory:' } });
    expect(inMemory.code).toBe(0);
    expect(inMemory.stdout).toMatch(/^database:\s+:memory:$/m);

    const bad = await runCli(['--db', ws.db, 'mode'], { env: { TASKBRIDGE_MODE: 'turbo' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/TASKBRIDGE_MODE.*accepted: memory, shadow, sqlite/);
  });

  it('parity exits 0 without mismatches and 1 when the mirror holds an orphaned run', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'x']);
    const clean = await runCli(['--db', ws.db, 'parity']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/parity ok: no mismatch/);

    // An unfinished mirror row that no process holds: what a crash in shadow mode leaves behind.
    await runCli(['--db', ws.db, 'enqueue', 'reports', '--queue', 'taskbridge.shadow', '--key', 'run-lost']);
    const broken = await runJson<{ ok: boolean; mismatches: number; orphanedRunIds: string[] }>(['--db', ws.db, 'parity']);
    expect(broken.code).toBe(1);
    expect(broken.json).toMatchObject({ ok: false, mismatches: 1, orphanedRunIds: ['run-lost'] });
    const human = await runCli(['--db', ws.db, 'parity']);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/orphaned .*: run-lost/);
  });

  it('rollback --dry-run lists what a flip to memory takes over or leaves waiting; without --dry-run it is bad usage', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'reports', '--key', 'run-a']);
    await runCli(['--db', ws.db, 'enqueue', 'emails', '--queue', 'taskbridge.shadow', '--key', 'run-b']);
    const plan = await runJson<{ total: number; takeOver: string[]; waiting: string[]; busy: string[] }>(['--db', ws.db, 'rollback', '--dry-run', '--handled-modules', 'reports']);
    expect(plan.code).toBe(0);
    expect(plan.json).toMatchObject({ total: 2, takeOver: ['run-a'], waiting: ['run-b'], busy: [] });
    const human = await runCli(['--db', ws.db, 'rollback', '--dry-run']);
    expect(human.stdout).toMatch(/^left waiting \(no handler\): 2 \(run-a, run-b\)$/m);
    const noDryRun = await runCli(['--db', ws.db, 'rollback']);
    expect(noDryRun.code).toBe(2);
    expect(noDryRun.stderr).toMatch(/TASKBRIDGE_MODE=memory/);
  });
});
