import { runCli, useWorkspace } from './helpers';

describe('taskbridge and the TASKBRIDGE_* environment', () => {
  const ws = useWorkspace();

  it('an invalid TASKBRIDGE_LOG_LEVEL is bad usage (exit 2) naming the variable, the value and the accepted values', async () => {
    expect((await runCli(['--db', ws.db, 'enqueue', 'x'])).code).toBe(0);
    const bad = await runCli(['--db', ws.db, 'list'], { env: { TASKBRIDGE_LOG_LEVEL: 'loud' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/TASKBRIDGE_LOG_LEVEL.*loud.*error, warn, info, debug, silent/);
    const good = await runCli(['--db', ws.db, 'list'], { env: { TASKBRIDGE_LOG_LEVEL: 'DEBUG' } });
    expect(good.code).toBe(0);
    const unset = await runCli(['--db', ws.db, 'list'], { env: { TASKBRIDGE_LOG_LEVEL: '' } });
    expect(unset.code).toBe(0);
  });
});
