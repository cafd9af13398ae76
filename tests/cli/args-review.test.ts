import fs from 'node:fs';
import { runCli, runJson, useWorkspace } from './helpers';

/**
 * Integer flags and task ids are decimal integers as typed: Number() alone also read '0x10' as 16,
 * '1e3' as 1000 and a blank as 0, and rounded ids past 2^53 to a neighbour (so `show`, `cancel` or
 * `retry` of a mistyped id could act on another task).
 */
describe('taskbridge integer arguments', () => {
  const ws = useWorkspace();

  it.each([
    [['enqueue', 'email', '--priority', '0x10']],
    [['enqueue', 'email', '--max-attempts', '1e1']],
    [['enqueue', 'email', '--priority', ' ']],
    [['list', '--limit', '0b11']],
  ])('%j is a usage error naming the flag and the value, and stores nothing', async (args) => {
    const result = await runCli(['--db', ws.db, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`argument '${args[args.length - 1]}' is invalid`);
    expect(result.stderr).toContain('decimal integer');
    expect(fs.existsSync(ws.db)).toBe(false);
  });

  it.each([['show'], ['cancel'], ['retry']])('%s of an id past 2^53 is a usage error, not another task', async (command) => {
    expect((await runCli(['--db', ws.db, 'enqueue', 'email'])).code).toBe(0);
    const result = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, command, '9007199254740993']);
    expect(result.code).toBe(2);
    expect(result.json.error.message).toContain('9007199254740993');
  });
});
