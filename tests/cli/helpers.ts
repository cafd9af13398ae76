import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

export const ROOT = path.resolve(__dirname, '../..');
export const CLI = path.join(ROOT, 'dist/cli/main.js');

/** A temp folder with a database path inside, removed by cleanup(). */
export function tempWorkspace(): { dir: string; db: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-cli-'));
  return { dir, db: path.join(dir, 'queue.db'), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Sets up a describe block of CLI tests (dist/ is built by jest's global setup): a fresh
 * {@link tempWorkspace} before each test, removed after it. Call it in the describe
 * body. The returned object reads the workspace of the test that is running, so `ws.db` in a test
 * is that test's own database and no two tests share a file.
 */
export function useWorkspace(): { readonly dir: string; readonly db: string } {
  let current: ReturnType<typeof tempWorkspace> | undefined;
  beforeEach(() => {
    current = tempWorkspace();
  });
  afterEach(() => {
    current?.cleanup();
    current = undefined;
  });
  const now = (): ReturnType<typeof tempWorkspace> => {
    if (current === undefined) throw new Error('useWorkspace(): the workspace exists only while a test runs');
    return current;
  };
  return {
    get dir() {
      return now().dir;
    },
    get db() {
      return now().db;
    },
  };
}

/** The SHA-256 of a file's bytes: equal before and after shows a command left the file as it was. */
export function digest(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Switches the database at `file` to rollback-journal mode, as a copy made for inspection is, so
 * that a -wal file appearing beside it shows a command wrote to it (or switched it back to WAL).
 */
export function toRollbackJournal(file: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = DELETE');
  db.close();
  expect(fs.existsSync(`${file}-wal`)).toBe(false);
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment the CLI runs with in tests: the shell's, without the database path or log level
 * of whoever runs jest (which would change which file a command opens, or what it prints), then `env`.
 */
export function cliEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, TASKBRIDGE_DB_PATH: '', TASKBRIDGE_LOG_LEVEL: 'error', ...env };
}

/** How a test runs the CLI: working directory, extra environment, and what it gets on stdin (default: nothing, as /dev/null). */
export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
}

/** Spawns `node dist/cli/main.js ...args` with the test environment and collects its output. */
function spawnCli(args: readonly string[], options: CliOptions): { child: ChildProcess; stdout(): string; stderr(): string } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? os.tmpdir(),
    env: cliEnv(options.env),
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) {
    // The CLI may refuse the input before reading all of it (a payload over the limit) and close stdin.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input);
  }
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, stdout: () => stdout, stderr: () => stderr };
}

/** Runs `node dist/cli/main.js ...args` to completion, as a user would. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const { child, stdout, stderr } = spawnCli(args, options);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    // 'close', not 'exit': every byte of output has been read by then.
    child.on('close', (code) => resolve({ code, stdout: stdout(), stderr: stderr() }));
  });
}

/** Runs the CLI with --json and parses stdout. */
export async function runJson<T = Record<string, unknown>>(args: readonly string[], options: CliOptions = {}): Promise<{ code: number | null; json: T; stderr: string }> {
  const result = await runCli([...args, '--json'], options);
  let json: T;
  try {
    json = JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
  }
  return { code: result.code, json, stderr: result.stderr };
}

/** A long-running CLI process (worker, serve) with its output collected. */
export interface LongRunning {
  readonly child: ChildProcess;
  output(): string;
  errors(): string;
  /** Resolves with the first stdout text matching `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `node dist/cli/main.js ...args` in the background. */
export function startCli(args: readonly string[], options: CliOptions = {}): LongRunning {
  const { child, stdout: out, stderr: err } = spawnCli(args, options);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: out,
    errors: err,
    waitForOutput: async (pattern, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = out().match(pattern);
        if (match) return match;
        if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before printing ${pattern}: ${out()}\n${err()}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}: ${out()}\n${err()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls until `condition` holds; fails after `timeoutMs`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Writes a handlers file for `taskbridge worker --handlers`. */
export function writeHandlers(dir: string, source: string): string {
  const file = path.join(dir, 'handlers.js');
  fs.writeFileSync(file, source);
  return file;
}
