import fc from 'fast-check';
import { CONFIG_KEYS, loadConfig, type ConfigInput } from '../../src/compat/config';
import { ConfigError } from '../../src/core/errors';
import { thrownBy } from '../support/thrown';

const NUMERIC = ['concurrency', 'rolloutPercent', 'leaseMs', 'pollIntervalMs', 'mirrorFlushDelayMs'] as const;

describe('flag values an operator may get wrong', () => {
  it.each([
    ['TASKBRIDGE_ROLLOUT_PERCENT', ['50.5', '-1', '101', '1e2', '0x10', '+5', '5%']],
    ['TASKBRIDGE_CONCURRENCY', ['0', '1.5', '10abc', '10001', '99999999999999999999', '-3']],
    ['TASKBRIDGE_LEASE', ['-5s', '0', '99', 'Infinity', '30 seconds later', '30d', '1e3']],
    ['TASKBRIDGE_POLL_INTERVAL', ['0', '-1ms', 'soon']],
    ['TASKBRIDGE_MIRROR_FLUSH_DELAY', ['-1', 'later']],
    ['TASKBRIDGE_FALLBACK', ['sqlite', 'none', 'true']],
    ['TASKBRIDGE_MODE', ['sqlit', 'sql ite', 'postgres']],
    ['TASKBRIDGE_SQLITE_MODULES', [',', ' , ,']],
  ])('%s: each wrong value stops start-up with a ConfigError naming the variable, the value and what is accepted', (key, values) => {
    for (const value of values) {
      const error = thrownBy(() => loadConfig({}, { [key]: value }));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(new RegExp(`^Invalid ${key}: ${JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; accepted: .+`));
    }
  });

  it('unambiguous spellings are read as the documented value: case, surrounding spaces, ms-style durations', () => {
    const c = loadConfig({}, {
      TASKBRIDGE_MODE: ' SQLite ', TASKBRIDGE_FALLBACK: 'Memory', TASKBRIDGE_CONCURRENCY: ' 4 ', TASKBRIDGE_ROLLOUT_PERCENT: '007',
      TASKBRIDGE_SQLITE_MODULES: ' reports ,, exports, reports,', TASKBRIDGE_LEASE: '30 S', TASKBRIDGE_POLL_INTERVAL: ' 1.5s', TASKBRIDGE_MIRROR_FLUSH_DELAY: '0',
    });
    expect(c).toMatchObject({ mode: 'sqlite', fallback: 'memory', concurrency: 4, rolloutPercent: 7, leaseMs: 30_000, pollIntervalMs: 1_500, mirrorFlushDelayMs: 0 });
    expect(c.sqliteModules).toEqual(['reports', 'exports']);
  });

  it('numbers and numeric strings in the config object mean the same, and each key of the object wins over the environment on its own', () => {
    const env = { TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_LEASE: '5s', TASKBRIDGE_CONCURRENCY: '3' };
    const asNumbers = loadConfig({ TASKBRIDGE_LEASE: 2_000, TASKBRIDGE_ROLLOUT_PERCENT: 40 }, env);
    const asStrings = loadConfig({ TASKBRIDGE_LEASE: '2000', TASKBRIDGE_ROLLOUT_PERCENT: '40' }, env);
    expect(asStrings).toEqual(asNumbers);
    expect(asNumbers).toMatchObject({ mode: 'shadow', leaseMs: 2_000, concurrency: 3, rolloutPercent: 40 });
  });

  it('an empty variable counts as unset, while an empty string in the config object is refused', () => {
    const empty = Object.fromEntries(CONFIG_KEYS.map((k) => [k, ''])) as ConfigInput;
    expect(loadConfig({}, empty as NodeJS.ProcessEnv)).toEqual(loadConfig({}, {}));
    for (const key of CONFIG_KEYS) expect(() => loadConfig({ [key]: '' }, {})).toThrow(ConfigError);
  });

  it('any value of any key, from the environment or the object, either loads as whole numbers or is a ConfigError naming the key', () => {
    const value = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.double(), fc.integer(), fc.array(fc.string()), fc.constantFrom(null, true, {}));
    fc.assert(
      fc.property(fc.constantFrom(...CONFIG_KEYS), value, fc.boolean(), (key, v, viaEnv) => {
        try {
          const c = viaEnv ? loadConfig({}, { [key]: String(v) }) : loadConfig({ [key]: v } as never, {});
          for (const field of NUMERIC) expect(Number.isSafeInteger(c[field])).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as Error).message).toContain(`Invalid ${key}: `);
        }
      }),
      { numRuns: 5_000 },
    );
  });
});
