import { spawn } from 'node:child_process';
import path from 'node:path';

const APP = path.join(__dirname, 'fixtures', 'settled-app.js');

/** Runs the fixture app; resolves with its exit code and stdout, or kills it after `ms` (a hang). */
function runApp(ms: number): Promise<{ code: number | null; hung: boolean; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--unhandled-rejections=strict', APP], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let hung = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', () => undefined);
    // Only a bound against a hang: a process that exits does so long before it on any machine.
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, hung, stdout });
    });
  });
}

describe('memory mode in a real process', () => {
  it('a process whose runs all settled (completed, failed, cancelled before and while running) exits on its own', async () => {
    const { code, hung, stdout } = await runApp(60_000);
    expect(hung).toBe(false);
    expect(code).toBe(0);
    expect(JSON.parse(stdout.trim())).toEqual({
      ok: 'completed',
      fails: 'failed',
      'rejects-undefined': 'failed',
      'throws-sync': 'failed',
      'cancel-before-start': 'cancelled',
      'cancel-running': 'cancelled',
    });
  });
});
