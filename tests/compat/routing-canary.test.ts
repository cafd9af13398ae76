import { spawn } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import { canaryPredicate, rolloutBucket } from '../../src/compat/routing';
import { RUN_QUEUE } from '../../src/compat/run-payload';
import { SystemClock } from '../../src/core/clock';
import { openMirrorStore } from '../../src/queue/sqlite/mirror-store';
import { tempDb, type TempDb } from './helpers';

const ROOT = path.resolve(__dirname, '../..');

/**
 * A legacy application process that runs the repository's TypeScript sources (transpiled on require
 * by the installed compiler, so no build is needed) and builds its manager the legacy way, the mode
 * coming from TASKBRIDGE_* in its environment. It starts one run per id, waits for all, and prints
 * each run's side as JSON.
 */
const CHILD = `
const ts = require('typescript');
const fs = require('node:fs');
require.extensions['.ts'] = (module, filename) => {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), { fileName: filename, compilerOptions: {
    module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, experimentalDecorators: true } });
  module._compile(out.outputText, filename);
};
const { installFlagExecutorFactory, shutdownModeExecutors } = require('./src/compat');
const { BackgroundTaskManager, RunRegistry } = require('./src/manager');
installFlagExecutorFactory();
const manager = new BackgroundTaskManager(new RunRegistry());
const ids = JSON.parse(process.argv[1]);
for (const runId of ids) {
  manager.startTask({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: {} }, async () => undefined);
}
manager.waitAll().then(async () => {
  const sides = Object.fromEntries(ids.map((id) => [id, manager.executor.routeOf(id)]));
  await shutdownModeExecutors();
  process.stdout.write(JSON.stringify(sides));
});
`;

/** Runs {@link CHILD} on `db` with the canary flag; resolves with runId -> side. */
function routeInChild(db: TempDb, ids: string[], percent: number): Promise<Record<string, 'queue' | 'rest'>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD, JSON.stringify(ids)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_ROLLOUT_PERCENT: String(percent), TASKBRIDGE_POLL_INTERVAL: '20ms', TASKBRIDGE_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

/** The share of `ids` the canary sends to the queue at `percent`. */
function queueShare(ids: readonly string[], percent: number): number {
  const toQueue = canaryPredicate({ sqliteModules: [], rolloutPercent: percent });
  return ids.filter((runId) => toQueue({ runId, moduleId: 'm' })).length / ids.length;
}

const runId = fc.oneof(fc.string(), fc.uuid(), fc.nat().map((n) => `run-${n}`), fc.string({ unit: 'grapheme' }));

describe('canary routing by percent', () => {
  it('every runId has one bucket 0..99, and percent 0 and 100 are exact', () => {
    fc.assert(
      fc.property(runId, fc.string(), (id, moduleId) => {
        const bucket = rolloutBucket(id);
        expect(Number.isInteger(bucket) && bucket >= 0 && bucket <= 99).toBe(true);
        expect(rolloutBucket(id)).toBe(bucket);
        expect(canaryPredicate({ sqliteModules: [], rolloutPercent: 0 })({ runId: id, moduleId })).toBe(false);
        expect(canaryPredicate({ sqliteModules: [], rolloutPercent: 100 })({ runId: id, moduleId })).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('raising the percent only adds runs to the queue side, and the module list narrows it further (AND)', () => {
    fc.assert(
      fc.property(runId, fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.boolean(), (id, a, b, listed) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const run = { runId: id, moduleId: listed ? 'reports' : 'emails' };
        if (canaryPredicate({ sqliteModules: [], rolloutPercent: low })(run)) {
          expect(canaryPredicate({ sqliteModules: [], rolloutPercent: high })(run)).toBe(true);
        }
        const both = canaryPredicate({ sqliteModules: ['reports'], rolloutPercent: high })(run);
        expect(both).toBe(listed && rolloutBucket(id) < high);
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['random strings', fc.string({ minLength: 1, maxLength: 24 })],
    ['uuids', fc.uuid()],
    ['sequential ids', fc.nat({ max: 1e9 }).map((n) => `run-${n}`)],
  ])('over many %s the queue gets close to the percent', (_label, ids) => {
    // A fixed seed: the sample, and so the test, is the same on every run.
    const sample = [...new Set(fc.sample(ids as fc.Arbitrary<string>, { numRuns: 20_000, seed: 20_240_601 }))];
    expect(sample.length).toBeGreaterThan(5_000);
    for (const percent of [1, 10, 25, 50, 75, 90, 99]) {
      expect(Math.abs(queueShare(sample, percent) - percent / 100)).toBeLessThan(0.02);
    }
  });

  it('the same runIds take the same side in two separate processes, matching the bucket rule', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `canary-${i}`);
    const [first, second] = [tempDb(), tempDb()];
    try {
      const [a, b] = await Promise.all([routeInChild(first, ids, 30), routeInChild(second, ids, 30)]);
      expect(b).toEqual(a);
      for (const id of ids) expect(a[id]).toBe(rolloutBucket(id) < 30 ? 'queue' : 'rest');
      // What each process persisted agrees: only the queue-side runs are in its queue.
      for (const db of [first, second]) {
        const store = openMirrorStore(db.dbPath, new SystemClock());
        try {
          expect(store.listQueue(RUN_QUEUE).map((r) => r.key).sort()).toEqual(ids.filter((id) => a[id] === 'queue').sort());
        } finally {
          store.close();
        }
      }
    } finally {
      first.remove();
      second.remove();
    }
  });
});
