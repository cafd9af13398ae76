import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { parseIntervalArg } from '../../src/cli/common';
import { InvalidOptionError } from '../../src/core/errors';
import { MaintenanceScheduler } from '../../src/queue/maintenance';
import { thrownBy } from '../support/thrown';

/** The constructor only checks its options: nothing is opened at this path. */
const FILE = path.join(os.tmpdir(), 'taskbridge-interval-never-opened.db');
const ACCEPTED = 'a duration from 1s to 2147483647 ms (about 24.8 days)';

/**
 * A maintenance interval has one rule, the scheduler's, which `taskbridge worker --checkpoint-every`
 * and the like apply too: the same bounds, refused in the same words (the scheduler said "at least
 * '1s' and at most ...", the CLI "from 1s to ...").
 */
describe('maintenance interval bounds', () => {
  it.each([
    ['999ms', 999],
    ['30d', 30 * 86_400_000],
    ['2^31 ms', 2 ** 31],
  ])('%s is refused by the scheduler and the CLI in the same words', (_what, ms) => {
    const fromScheduler = thrownBy(() => new MaintenanceScheduler({ path: FILE, checkpoint: { every: ms } }));
    expect(fromScheduler).toBeInstanceOf(InvalidOptionError);
    expect(fromScheduler).toMatchObject({ field: 'checkpoint.every', value: ms, accepted: ACCEPTED });
    const fromCli = thrownBy(() => parseIntervalArg(String(ms)));
    expect(fromCli).toBeInstanceOf(InvalidArgumentError);
    expect((fromCli as Error).message).toBe(`expected ${ACCEPTED}, got "${ms}"`);
  });

  it.each([1000, 2 ** 31 - 1])('%d ms, at a bound, is accepted by both', (ms) => {
    expect(new MaintenanceScheduler({ path: FILE, backup: { every: ms, directory: os.tmpdir(), keep: 1 } }).jobs.get('backup')).toBe(ms);
    expect(parseIntervalArg(String(ms))).toBe(ms);
  });

  it('a value that is no duration is still refused as one, by both', () => {
    expect(() => new MaintenanceScheduler({ path: FILE, retention: { every: 'soon' } })).toThrow(/retention\.every: "soon"; accepted: a non-negative number of milliseconds or a duration string/);
    expect(() => parseIntervalArg('soon')).toThrow(/^expected a duration such as 30s, 5m, 7d, got "soon"$/);
  });
});
