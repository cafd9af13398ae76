import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteTaskStore } from '../../src/queue/store-factory';

const ROOT = path.join(__dirname, '../..');
const FIXTURE = path.join(__dirname, 'fixtures/idempotent-enqueuer.js');
const PROCESSES = 4;
const KEYS = 300;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Child processes run the built package; rebuild when it is missing or older than the store source. */
function ensureBuilt(): void {
  const built = path.join(ROOT, 'dist/queue/store-factory.js');
  const sources = Math.max(newestMtime(path.join(ROOT, 'src/queue/sqlite')), fs.statSync(path.join(ROOT, 'src/queue/validation.ts')).mtimeMs);
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= sources) return;
  // tsc exits non-zero on a type error elsewhere in the tree but still emits; the test catches a bad build.
  spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
}

function message<T>(child: ChildProcess, accept: (m: unknown) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (!accept(m)) return;
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`enqueuer exited with ${code} before reporting`)));
  });
}

describe('idempotency across processes', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  beforeAll(() => ensureBuilt());
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-idem-'));
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates each key exactly once when several processes enqueue it at the same time', async () => {
    const dbPath = path.join(dir, 'q.db');
    // Created up front so the children race on enqueues, not on the first migration.
    const store = createSqliteTaskStore({ path: dbPath });
    for (let i = 0; i < PROCESSES; i++) {
      children.push(fork(FIXTURE, [dbPath, String(KEYS)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
    }
    await Promise.all(children.map((c) => message(c, (m) => m === 'ready')));
    const reports = children.map((c) => message<{ results: { key: string; id: number; created: boolean }[] }>(c, (m) => typeof m === 'object'));
    for (const c of children) c.send('go');
    const all = (await Promise.all(reports)).flatMap((r) => r.results);

    expect(all).toHaveLength(PROCESSES * KEYS);
    const byKey = new Map<string, { ids: Set<number>; created: number }>();
    for (const r of all) {
      const entry = byKey.get(r.key) ?? { ids: new Set<number>(), created: 0 };
      entry.ids.add(r.id);
      if (r.created) entry.created++;
      byKey.set(r.key, entry);
    }
    expect(byKey.size).toBe(KEYS);
    for (const [, entry] of byKey) {
      expect(entry.created).toBe(1);
      expect(entry.ids.size).toBe(1);
    }
    const counts = await store.counts();
    expect(counts.total).toBe(KEYS);
    const key = await store.getByIdempotencyKey('default', 'key-0');
    expect(key!.id).toBe([...byKey.get('key-0')!.ids][0]);
    await store.close();
  });
});
