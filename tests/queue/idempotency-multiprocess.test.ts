import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteTaskStore } from '../../src/queue/store-factory';

const FIXTURE = path.join(__dirname, 'fixtures/idempotent-enqueuer.js');
const PROCESSES = 4;
const KEYS = 300;

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
