import fs from 'node:fs';
import path from 'node:path';

describe('package root', () => {
  it('exports the legacy API, the container and the queue from the built entry that package.json names', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { main: string; types: string };
    const main = path.join(__dirname, '..', pkg.main);
    expect(fs.existsSync(main)).toBe(true);
    expect(fs.existsSync(path.join(__dirname, '..', pkg.types))).toBe(true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const api = require(main) as Record<string, unknown>;
    for (const name of [
      'BackgroundTaskManager', 'RunRegistry', 'DuplicateRunError', 'createContainer', 'createSqliteTaskStore',
      'Worker', 'HandlerRegistry', 'StrategyFactory', 'createStrategy', 'checkParity', 'planRollback',
      'metrics', 'prometheusMetrics', 'health', 'backupDatabase', 'ManualClock', 'TYPES', 'TaskEvents',
    ]) {
      expect(typeof api[name]).not.toBe('undefined');
    }
  });
});
