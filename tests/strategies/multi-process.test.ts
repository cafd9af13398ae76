import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteTaskStore } from '../../src/queue/store-factory';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'strategy-claimer.js');

interface Claimer {
  readonly ready: Promise<void>;
  readonly exit: Promise<number>;
}

function start(args: string[]): Claimer {
  const child = spawn(process.execPath, [FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`claimer exited with ${code} before it was ready`)));
  });
  const exit = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? -1));
  });
  return { ready, exit };
}

describe('workers with different strategies on one queue', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-strategies-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['fifo', 'lifo'],
    ['priority', 'weighted-random'],
  ])('a %s process and a %s process never claim one task twice', async (a, b) => {
    const db = path.join(dir, 'q.db');
    const store = createSqliteTaskStore({ path: db, logger: { error() {}, warn() {}, info() {}, debug() {} } });
    const total = 10_000;
    await store.enqueueBatch(Array.from({ length: total }, (_, i) => ({ type: 't', payload: { i }, priority: i % 10 })));
    await store.close();

    const files = [path.join(dir, `${a}.ids`), path.join(dir, `${b}.ids`)];
    const go = path.join(dir, 'go');
    const claimers = [start([db, files[0]!, a, go, files[1]!]), start([db, files[1]!, b, go, files[0]!])];
    // Both processes are connected before either claims, so they contend from the first task.
    await Promise.all(claimers.map((c) => c.ready));
    fs.writeFileSync(go, '');
    const codes = await Promise.all(claimers.map((c) => c.exit));
    expect(codes).toEqual([0, 0]);

    const seen = files.flatMap((f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : []));
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    // Both processes took part (each waits after its first claim until the other claimed), so the
    // test really exercised contention.
    for (const f of files) expect(fs.existsSync(f)).toBe(true);

    const check = createSqliteTaskStore({ path: db, logger: { error() {}, warn() {}, info() {}, debug() {} } });
    const counts = await check.counts();
    expect(counts.byStatus.completed).toBe(total);
    expect(counts.byStatus.queued + counts.byStatus.running).toBe(0);
    await check.close();
  });
});
