import path from 'node:path';
import { runToExit } from '../support/run-to-exit';

const APP = path.join(__dirname, 'fixtures', 'settled-app.js');

describe('memory mode in a real process', () => {
  it('a process whose runs all settled (completed, failed, cancelled before and while running) exits on its own', async () => {
    const { code, hung, stdout } = await runToExit(APP, [], 60_000);
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
