import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
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

describe('package types, as a TypeScript consumer gets them', () => {
  const root = path.join(__dirname, '..');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

  function declarationFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? declarationFiles(path.join(dir, e.name)) : e.name.endsWith('.d.ts') ? [path.join(dir, e.name)] : []);
  }

  it('every package the shipped .d.ts files import is a dependency, with its types (a devDependency is not installed for consumers)', () => {
    const imported = new Set<string>();
    for (const file of declarationFiles(path.join(root, 'dist'))) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/(?:from\s+|require\()'([^'./][^']*)'/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect(imported.size).toBeGreaterThan(0);
    for (const name of imported) {
      expect({ name, dependency: name in pkg.dependencies }).toEqual({ name, dependency: true });
      const own = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { types?: string; typings?: string };
      // Types of its own: named in package.json, or a .d.ts beside the entry TypeScript resolves (inversify).
      const beside = require.resolve(name, { paths: [root] }).replace(/\.c?js$/, '.d.ts');
      if (own.types === undefined && own.typings === undefined && !fs.existsSync(beside)) {
        expect({ name, types: `@types/${name}` in pkg.dependencies }).toEqual({ name, types: true });
      }
    }
  });

  it('compile in a consumer without esModuleInterop and without skipLibCheck (no default import of a CommonJS module)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-consumer-'));
    try {
      fs.mkdirSync(path.join(dir, 'node_modules'));
      fs.symlinkSync(root, path.join(dir, 'node_modules', 'taskbridge'), 'dir');
      fs.writeFileSync(path.join(dir, 'index.ts'), [
        "import { BackgroundTaskManager, RunRegistry, createSqliteTaskStore, openMaintenanceConnection } from 'taskbridge';",
        "const store = createSqliteTaskStore({ path: ':memory:' });",
        'const manager = new BackgroundTaskManager(new RunRegistry());',
        'export const used = [store.enqueueSync, manager.startTask, openMaintenanceConnection];',
      ].join('\n'));
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'commonjs', moduleResolution: 'node', strict: true, esModuleInterop: false, skipLibCheck: false, noEmit: true, types: [], typeRoots: [path.join(root, 'node_modules', '@types')] },
        files: ['index.ts'],
      }));
      const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', dir], { encoding: 'utf8' });
      expect({ code: tsc.status, out: tsc.stdout }).toEqual({ code: 0, out: '' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
