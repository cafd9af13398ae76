import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { walModeOnDisk } from '../../src/queue/maintenance/sqlite-file';
import { createSqliteTaskStore } from '../../src/queue/store-factory';

const PROBE = path.join(__dirname, 'fixtures', 'sqlite-lock-probe.py');
const silent = { error() {}, warn() {}, info() {}, debug() {} };

/**
 * Asks the kernel, from another process, whether SQLite's shared lock on the database file is held
 * (fcntl F_GETLK over SQLite's SHARED byte range). A WAL connection holds it while open.
 */
function sharedLockHolder(file: string): string {
  return execFileSync('python3', [PROBE, file]).toString().trim();
}

describe('database file descriptors and POSIX locks', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-locks-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('opening and closing a second store on the same file keeps the first connection\'s SQLite lock', async () => {
    const file = path.join(dir, 'q.db');
    const first = createSqliteTaskStore({ path: file, logger: silent });
    await first.enqueue({ type: 't' });
    expect(sharedLockHolder(file)).toBe(`locked ${process.pid}`);

    // The header check and the file guard read the file through descriptors of their own; closing
    // such a descriptor would silently drop every lock this process holds on the file.
    const second = createSqliteTaskStore({ path: file, logger: silent });
    await second.get(1);
    await second.close();
    expect(sharedLockHolder(file)).toBe(`locked ${process.pid}`);

    // The probe itself can tell: a plain open and close of the file does drop the lock.
    fs.closeSync(fs.openSync(file, 'r'));
    expect(sharedLockHolder(file)).toBe('unlocked 0');
    await first.close();
  });

  it("restore's check of the target's journal mode reads the header without dropping the lock of a connection open on it", async () => {
    const file = path.join(dir, 'q.db');
    const store = createSqliteTaskStore({ path: file, logger: silent });
    await store.enqueue({ type: 't' });
    expect(sharedLockHolder(file)).toBe(`locked ${process.pid}`);
    expect(walModeOnDisk(file)).toBe(true);
    expect(sharedLockHolder(file)).toBe(`locked ${process.pid}`);
    await store.close();
  });
});
