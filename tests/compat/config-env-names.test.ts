import { isCanary, loadConfig } from '../../src/compat/config';
import { ConfigError } from '../../src/core/errors';

function refusal(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig({}, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('flag variable names in the environment', () => {
  it.each([
    ['TASKBRIDGE_SQLITE_MODULE', 'reports', 'TASKBRIDGE_SQLITE_MODULES'],
    ['TASKBRIDGE_ROLLOUT_PERCENTAGE', '10', 'TASKBRIDGE_ROLLOUT_PERCENT'],
    ['TASKBRIDGE_ROLLOUT_PRECENT', '10', 'TASKBRIDGE_ROLLOUT_PERCENT'],
    ['TASKBRIGE_SQLITE_MODULES', 'reports', 'TASKBRIDGE_SQLITE_MODULES'],
    ['TASKBRIDGE_LEASE_MS', '5000', 'TASKBRIDGE_LEASE'],
    ['TASKBRIDGE_POLL_INTERVAL_MS', '100', 'TASKBRIDGE_POLL_INTERVAL'],
  ])(
    'a misspelt canary or flag variable (%s) is refused, naming it and the variable meant, instead of being ignored',
    (name, value, meant) => {
      // Ignored, the typo turned a canary of one module or 10 % into a full cutover of every run.
      const error = refusal({ TASKBRIDGE_MODE: 'sqlite', [name]: value });
      expect(error.code).toBe('TASKBRIDGE_INVALID_CONFIG');
      expect(error.message).toContain(name);
      expect(error.message).toContain(JSON.stringify(value));
      expect(error.message).toContain(`did you mean ${meant}`);
    },
  );

  it('a lower-case flag variable, which is never read on Linux or macOS, is refused there', () => {
    if (process.platform === 'win32') return; // Windows reads environment names case-insensitively.
    expect(refusal({ taskbridge_mode: 'sqlite' }).message).toContain('did you mean TASKBRIDGE_MODE');
  });

  it('other TASKBRIDGE_* variables (the test harness, an application\'s own) are left alone, as are empty near misses', () => {
    const config = loadConfig({}, {
      TASKBRIDGE_MODE: 'sqlite',
      TASKBRIDGE_SQLITE_MODULES: 'reports',
      TASKBRIDGE_SOAK_SECONDS: '60',
      TASKBRIDGE_RELIABILITY_REPORT: '/tmp/r.json',
      TASKBRIDGE_PORT: '8080',
      TASKBRIDGE_API_URL: 'http://x',
      TASKBRIDGE_MODULES_TIMEOUT: '5s',
      TASKBRIDGE_ROLLOUT_PERCENTAGE: '',
    });
    expect(isCanary(config)).toBe(true);
    expect(config.sqliteModules).toEqual(['reports']);
  });
});
