import { spawn } from 'node:child_process';
import os from 'node:os';
import { CLI, cliEnv, runCli, runJson, useWorkspace } from './helpers';

/** Runs the CLI with the read end of its stdout closed before it writes: what `taskbridge ... | head -0` does. */
function runWithClosedStdout(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: os.tmpdir(), env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('taskbridge and a closed stdout', () => {
  const ws = useWorkspace();

  it('a reader that closes the pipe early (list | head) does not crash the command with an EPIPE stack trace', async () => {
    expect((await runCli(['--db', ws.db, 'enqueue', 'a'])).code).toBe(0);
    for (const args of [['list'], ['list', '--json'], ['show', '1']]) {
      const result = await runWithClosedStdout(['--db', ws.db, ...args]);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: '' });
    }
    // The command's own outcome still decides the exit code: the write was done, so a script must not retry it.
    const enqueued = await runWithClosedStdout(['--db', ws.db, 'enqueue', 'b']);
    expect(enqueued).toEqual({ code: 0, stderr: '' });
    expect((await runJson<{ tasks: unknown[] }>(['--db', ws.db, 'list'])).json.tasks).toHaveLength(2);
  });
});
