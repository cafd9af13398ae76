import { ConfigError } from '../../src/core/errors';
import { CONFIG_DEFAULTS, loadConfig } from '../../src/compat/config';
import { thrownBy } from '../support/thrown';

describe('flag configuration', () => {
  it('defaults to memory, ./data/taskbridge.db, priority, concurrency 10, refuse fallback', () => {
    const c = loadConfig({}, {});
    expect(c).toMatchObject({ mode: 'memory', dbPath: './data/taskbridge.db', strategy: 'priority', concurrency: 10, fallback: 'refuse', rolloutPercent: 100 });
    expect(c.sqliteModules).toEqual([]);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads the environment, and the config object wins over it', () => {
    const env = { TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_STRATEGY: 'fifo', TASKBRIDGE_CONCURRENCY: '4' };
    expect(loadConfig({}, env)).toMatchObject({ mode: 'shadow', strategy: 'fifo', concurrency: 4 });
    expect(loadConfig({ TASKBRIDGE_MODE: 'sqlite' }, env).mode).toBe('sqlite');
  });

  it('parses module lists, percentages and durations given as ms strings', () => {
    const c = loadConfig({ TASKBRIDGE_SQLITE_MODULES: 'reports, exports,reports', TASKBRIDGE_ROLLOUT_PERCENT: '25', TASKBRIDGE_LEASE: '2s', TASKBRIDGE_MIRROR_FLUSH_DELAY: '10ms' }, {});
    expect(c.sqliteModules).toEqual(['reports', 'exports']);
    expect(c.rolloutPercent).toBe(25);
    expect(c.leaseMs).toBe(2000);
    expect(c.mirrorFlushDelayMs).toBe(10);
  });

  it.each([
    ['TASKBRIDGE_MODE', 'sqlit', 'memory, shadow, sqlite'],
    ['TASKBRIDGE_STRATEGY', 'random', 'fifo, lifo, priority, weighted-random'],
    ['TASKBRIDGE_FALLBACK', 'ignore', 'memory, refuse'],
    ['TASKBRIDGE_CONCURRENCY', '0', 'an integer from 1'],
    ['TASKBRIDGE_ROLLOUT_PERCENT', '101', 'an integer from 0 to 100'],
    ['TASKBRIDGE_LEASE', 'soon', 'a duration'],
    ['TASKBRIDGE_LOG_LEVEL', 'loud', 'error, warn, info, debug, silent'],
  ])('an unknown %s value %s is refused naming the variable, value and accepted values', (key, value, accepted) => {
    const error = thrownBy(() => loadConfig({}, { [key]: value }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('TASKBRIDGE_INVALID_CONFIG');
    expect((error as Error).message).toContain(key);
    expect((error as Error).message).toContain(value);
    expect((error as Error).message).toContain(accepted);
  });

  it.each(['TASKBRIDGE_LEASE', 'TASKBRIDGE_POLL_INTERVAL', 'TASKBRIDGE_MIRROR_FLUSH_DELAY'])(
    '%s longer than a Node timer can wait (2^31-1 ms, ~24.8 days) is refused: Node would fire it after 1 ms',
    (key) => {
      expect(() => loadConfig({}, { [key]: '30d' })).toThrow(ConfigError);
      expect(() => loadConfig({}, { [key]: '30d' })).toThrow(new RegExp(`${key}.*30d.*at most 2147483647 ms`));
      expect(() => loadConfig({ [key]: 2_147_483_648 }, {})).toThrow(ConfigError);
      expect(() => loadConfig({}, { [key]: '24d' })).not.toThrow();
    },
  );

  it('an unknown key in the config object is refused, naming it', () => {
    expect(() => loadConfig({ TASKBRIDGE_MOD: 'sqlite' } as never, {})).toThrow(/TASKBRIDGE_MOD.*accepted: a known key/);
  });

  it('keeps documented defaults in one place', () => {
    expect(CONFIG_DEFAULTS.mirrorFlushDelayMs).toBeLessThanOrEqual(100);
  });
});
