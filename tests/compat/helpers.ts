import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh temp folder with a database path inside; `remove()` deletes it. */
export function tempDb(prefix = 'taskbridge-compat-'): { dir: string; dbPath: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    dbPath: path.join(dir, 'taskbridge.db'),
    remove: () => {
      try {
        fs.chmodSync(dir, 0o700);
      } catch {
        // already removed
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true or `ms` passes (for state another process writes). */
export async function until(check: () => boolean | Promise<boolean>, label: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
