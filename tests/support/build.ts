import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '../..');
/** The file whose age says how old the build in dist/ is (tsc rewrites every emitted file). */
const MARKER = path.join(ROOT, 'dist/cli/main.js');

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** True when dist/ is missing or older than some source file. */
export function buildIsStale(): boolean {
  const built = fs.statSync(MARKER, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return built < newestSourceMtime(path.join(ROOT, 'src'));
}

/**
 * Builds dist/ when it is stale. Tests that spawn the CLI or child processes run the build, so a
 * fix in src/ must reach it; but tsc rewrites dist/ in place, file by file, and a CLI that loads a
 * half-written module under it fails (once: `show` exited 1 with an empty stdout, a required module
 * having read as empty). So only jest's global setup calls this, once, before any test file runs,
 * never a test file. A lock folder keeps two jest runs started together from building at once.
 */
export function buildIfStale(): void {
  const lock = path.join(os.tmpdir(), 'taskbridge-test-build.lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`could not take ${lock}`);
      // A lock left by a killed run is older than any build takes.
      const stat = fs.statSync(lock, { throwIfNoEntry: false });
      if (stat !== undefined && Date.now() - stat.mtimeMs > 300_000) fs.rmSync(lock, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (!buildIsStale()) return;
    // tsc emits even when another part of the tree has a type error; `npm test` type-checks first.
    spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    if (!fs.existsSync(MARKER)) throw new Error('the build produced no dist/cli/main.js');
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}
