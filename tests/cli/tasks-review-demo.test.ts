import fs from 'node:fs';
import path from 'node:path';
import { runCli, useWorkspace } from './helpers';

interface DemoReport {
  asExpected: boolean;
  metrics: { counts: { byStatus: Record<string, number> } };
}

describe('taskbridge demo and the TASKBRIDGE_* environment of the shell', () => {
  const ws = useWorkspace();

  it('a canary the shell exports for an application (TASKBRIDGE_SQLITE_MODULES, TASKBRIDGE_ROLLOUT_PERCENT) does not send the demo to memory', async () => {
    for (const canary of [{ TASKBRIDGE_SQLITE_MODULES: 'reports' }, { TASKBRIDGE_ROLLOUT_PERCENT: '0' }]) {
      const db = path.join(ws.dir, `${Object.keys(canary)[0]}.db`);
      const result = await runCli(['--db', db, 'demo', '--json'], { env: { ...canary, TASKBRIDGE_LOG_LEVEL: 'silent' } });
      expect({ canary, code: result.code, stderr: result.stderr }).toEqual({ canary, code: 0, stderr: '' });
      const report = JSON.parse(result.stdout) as DemoReport;
      expect(report.asExpected).toBe(true);
      // Every run of the batch is a task in the database: the demo ran in sqlite mode as it says.
      expect(report.metrics.counts.byStatus).toMatchObject({ completed: 4, failed: 1, cancelled: 1 });
    }
  });

  it('TASKBRIDGE_FALLBACK=memory does not run the batch in memory when the database cannot be opened', async () => {
    fs.mkdirSync(ws.db);
    const result = await runCli(['--db', ws.db, 'demo'], { env: { TASKBRIDGE_FALLBACK: 'memory' } });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toMatch(/import-customers/);
    expect(result.stderr).toContain(ws.db);
  });

  it('an empty TASKBRIDGE_LOG_LEVEL is unset, as everywhere else: the demo prints no log lines', async () => {
    const result = await runCli(['--db', ws.db, 'demo'], { env: { TASKBRIDGE_LOG_LEVEL: '' } });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('--db :memory: is refused (exit 2, naming it) before the batch runs, not after it with "database :memory: does not exist"', async () => {
    const result = await runCli(['--db', ':memory:', 'demo'], { cwd: ws.dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/--db.*:memory:.*file/);
    expect(fs.readdirSync(ws.dir)).toEqual([]);
  });
});
