import { envValue, loadConfig, logLevelOf } from '../../src/compat/config';
import { ConfigError } from '../../src/core/errors';
import { thrownBy } from '../support/thrown';

/**
 * The library (loadConfig) and the CLI (cliLogger) read TASKBRIDGE_LOG_LEVEL by one rule, logLevelOf,
 * each with its own default: a level one accepts the other never refuses, and both refuse alike.
 */
describe('TASKBRIDGE_LOG_LEVEL, read by logLevelOf', () => {
  it.each([
    ['debug', 'debug'],
    [' DEBUG ', 'debug'],
    ['Silent', 'silent'],
  ])('%j is the level %s, for the library as for the CLI', (raw, level) => {
    const env = { TASKBRIDGE_LOG_LEVEL: raw };
    expect(loadConfig({}, env).logLevel).toBe(level);
    expect(logLevelOf(envValue(env, 'TASKBRIDGE_LOG_LEVEL'), 'warn')).toBe(level);
  });

  it('unset or blank is the caller\'s default: info for the library, what the command passes for the CLI', () => {
    for (const env of [{}, { TASKBRIDGE_LOG_LEVEL: '' }, { TASKBRIDGE_LOG_LEVEL: '  ' }]) {
      expect(loadConfig({}, env).logLevel).toBe('info');
      expect(logLevelOf(envValue(env, 'TASKBRIDGE_LOG_LEVEL'), 'warn')).toBe('warn');
    }
  });

  it.each(['loud', 'verbose', 'de bug'])('%j is refused by both with the same ConfigError', (raw) => {
    const env = { TASKBRIDGE_LOG_LEVEL: raw };
    const fromConfig = thrownBy(() => loadConfig({}, env));
    const fromCli = thrownBy(() => logLevelOf(envValue(env, 'TASKBRIDGE_LOG_LEVEL'), 'warn'));
    expect(fromCli).toBeInstanceOf(ConfigError);
    expect(fromCli).toMatchObject({ code: 'TASKBRIDGE_INVALID_CONFIG', variable: 'TASKBRIDGE_LOG_LEVEL', value: raw });
    expect((fromCli as Error).message).toBe(`Invalid TASKBRIDGE_LOG_LEVEL: ${JSON.stringify(raw)}; accepted: error, warn, info, debug, silent`);
    expect((fromConfig as Error).message).toBe((fromCli as Error).message);
  });
});
