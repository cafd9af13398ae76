import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './helpers';

interface DemoReport {
  batchId: string;
  dbPath: string;
  asExpected: boolean;
  runs: { moduleId: string; status: string; completedAt?: string; durationSeconds?: number }[];
  metrics: { counts: { byStatus: Record<string, number> } };
}

describe('taskbridge demo (the main job)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-demo-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs the legacy app in sqlite mode on ./data/taskbridge.db from a fresh directory, twice', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.TASKBRIDGE_DB_PATH;
    delete env.TASKBRIDGE_MODE;

    const first = await runCli(['demo', '--json'], { cwd: dir, env });
    expect({ code: first.code, stderr: first.stderr.split('\n').filter((l) => !l.startsWith('{')).join('\n') }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(first.stdout) as DemoReport;
    expect(report.asExpected).toBe(true);
    expect(fs.realpathSync(report.dbPath)).toBe(fs.realpathSync(path.join(dir, 'data', 'taskbridge.db')));
    const byModule = Object.fromEntries(report.runs.map((r) => [r.moduleId, r.status]));
    expect(byModule).toEqual({
      'import-customers': 'completed',
      'build-report': 'completed',
      'sync-crm': 'completed',
      'export-ledger': 'failed',
      'reindex-search': 'cancelled',
      'send-digest': 'completed',
    });
    for (const r of report.runs) expect(r.completedAt).toBeDefined();
    expect(report.metrics.counts.byStatus).toMatchObject({ completed: 4, failed: 1, cancelled: 1, queued: 0, running: 0 });

    // The human output of a second run: progress lines, the stats table, the inspect commands.
    const second = await runCli(['demo'], { cwd: dir, env });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/sync-crm\s+queued\s+\(attempt 1 of 3 failed: CRM API answered 503/);
    expect(second.stdout).toMatch(/import-customers\s+100% \(1000\/1000 items\)/);
    expect(second.stdout).toMatch(/^all\s+0\s+0\s+8\s+2\s+2\s+12$/m);
    expect(second.stdout).toContain('npx taskbridge stats');
    expect(second.stdout).toContain('npx taskbridge health');

    const health = await runCli(['health'], { cwd: dir, env });
    expect(health.code).toBe(0);
  });
});
