import fs from 'node:fs';
import { runCli, runJson, useWorkspace } from './helpers';

describe('taskbridge --db', () => {
  const ws = useWorkspace();

  it('an empty --db (a script\'s unset variable) is bad usage naming --db, not the working directory reported as the database', async () => {
    for (const args of [['enqueue', 'x'], ['list'], ['show', '1']]) {
      const result = await runCli(['--db', '', ...args], { cwd: ws.dir });
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(/--db.*""/);
      expect(result.stderr).not.toContain(ws.dir);
    }
    const json = await runJson<{ error: { code: string } }>(['--db', ' ', 'list'], { cwd: ws.dir });
    expect(json).toMatchObject({ code: 2, json: { error: { code: 'TASKBRIDGE_USAGE' } } });
    expect(fs.readdirSync(ws.dir)).toEqual([]);
  });
});
