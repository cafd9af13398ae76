import fs from 'node:fs';
import path from 'node:path';
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

  it('a TASKBRIDGE_DB_PATH the library refuses (surrounding whitespace) is refused by the CLI too, and no second file is created', async () => {
    const padded = `${ws.db} `;
    const bad = await runCli(['enqueue', 'x'], { env: { TASKBRIDGE_DB_PATH: padded }, cwd: ws.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('TASKBRIDGE_DB_PATH');
    expect(bad.stderr).toContain(JSON.stringify(padded));
    expect(fs.readdirSync(path.dirname(ws.db)).filter((f) => f.startsWith(path.basename(ws.db)))).toEqual([]);
    // --db wins over the variable, so an operator can still name the file.
    expect((await runCli(['--db', ws.db, 'enqueue', 'x'], { env: { TASKBRIDGE_DB_PATH: padded } })).code).toBe(0);
  });
});
