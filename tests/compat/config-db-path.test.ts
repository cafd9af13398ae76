import path from 'node:path';
import fc from 'fast-check';
import { defaultDbPath } from '../../src/cli/common';
import { loadConfig } from '../../src/compat/config';
import { ConfigError } from '../../src/core/errors';
import { thrownBy } from '../support/thrown';

/** The file the library opens for an environment, resolved as SQLite resolves it (from the working directory). */
function libraryFile(env: NodeJS.ProcessEnv): string {
  return path.resolve(loadConfig({}, env).dbPath);
}

describe('TASKBRIDGE_DB_PATH', () => {
  it.each(['/var/lib/app/taskbridge.db ', ' data/taskbridge.db', '\tdata/taskbridge.db\n', 'data/taskbridge.db\u00a0'])(
    'a path with surrounding whitespace (%p) is refused: the CLI reads the variable as is, so trimming made the app and the CLI use different files',
    (raw) => {
      const error = thrownBy(() => loadConfig({}, { TASKBRIDGE_DB_PATH: raw }));
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('TASKBRIDGE_DB_PATH');
      expect(message).toContain(JSON.stringify(raw));
      expect(message).toContain('without leading or trailing whitespace');
      // The same refusal for the object handed to createContainer.
      expect(() => loadConfig({ TASKBRIDGE_DB_PATH: raw }, {})).toThrow(ConfigError);
    },
  );

  it('an accepted path names the same file for the library as for the CLI (taskbridge worker, parity, rollback)', () => {
    const segment = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.includes('\0') && !s.includes('/'));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.boolean(), (parts, absolute) => {
        const raw = (absolute ? '/' : '') + parts.join('/');
        const env = { TASKBRIDGE_DB_PATH: raw };
        let file: string;
        try {
          file = libraryFile(env);
        } catch (err) {
          // Refused values stop the app; only accepted ones must agree with the CLI.
          expect(err).toBeInstanceOf(ConfigError);
          return;
        }
        expect(file).toBe(path.resolve(defaultDbPath(env)));
      }),
      { numRuns: 2000 },
    );
  });

  it('unset, empty or blank means the documented default for both', () => {
    for (const env of [{}, { TASKBRIDGE_DB_PATH: '' }, { TASKBRIDGE_DB_PATH: '   ' }]) {
      expect(loadConfig({}, env).dbPath).toBe('./data/taskbridge.db');
      expect(libraryFile(env)).toBe(path.resolve(defaultDbPath(env)));
    }
  });
});
