import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import Database = require('better-sqlite3');
import { DatabaseReplacedError, NotADatabaseError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { isDamagedFileCode, SQLITE_HEADER } from './connection';
import { fileHandle, readFileStart, type FileHandle } from './file-handles';

/**
 * How often a call re-checks the file. A check costs a stat and a 16-byte read (a few µs); at most
 * every 250 ms keeps it off the claim hot path while still catching a change well before the
 * worker's next checkpoint has a chance to copy pages over it.
 */
export const FILE_CHECK_INTERVAL_MS = 250;

/** SQLite errors that a file changed under the connection can cause. */
const FILE_ERRORS = /^SQLITE_(CORRUPT|NOTADB|IOERR|READONLY|CANTOPEN)/;

/**
 * Routes failures of the named methods through {@link FileGuard.rethrow}, so any call that trips
 * over a changed file reports it as such. Wrapping the instance keeps the store's methods plain.
 */
export function rethrowFileErrors<T extends object>(target: T, names: readonly (keyof T & string)[], file: FileGuard): void {
  const methods = target as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of names) {
    const method = methods[name]!;
    methods[name] = function (this: unknown, ...args: unknown[]): unknown {
      try {
        const result = method.apply(this, args);
        return result instanceof Promise ? result.catch((err: unknown) => file.rethrow(err)) : result;
      } catch (err) {
        return file.rethrow(err);
      }
    };
  }
}

/**
 * A read-only connection to `file` holding a shared lock on it: while it is open, another
 * connection's close is never the last one, so it cannot checkpoint the WAL onto the file (a
 * read-only connection never checkpoints). Closed last by whoever keeps it.
 */
export function openKeeper(file: string): Database.Database {
  const keeper = new Database(file, { readonly: true, fileMustExist: true });
  keeper.pragma('cache_size = -64');
  // A read makes the connection take its shared lock on the file.
  keeper.prepare('SELECT count(*) FROM sqlite_master').get();
  return keeper;
}

/** What a file watcher compares the path against: the file as it was opened. */
export interface OpenedFile {
  readonly path: string;
  /** The process-wide descriptor of the opened file (file-handles.ts): its dev and ino. */
  readonly handle: FileHandle;
  readonly pageSize: number;
  /** True when a mode without the owner's write bit counts as a change (root ignores the mode). */
  readonly ownerWritable: boolean;
}

/**
 * How the file at the path differs from the one opened, as the end of a sentence starting with the
 * path; undefined when it does not.
 * @throws the file system's error when the path cannot be inspected
 */
export function describeFileChange(opened: OpenedFile): string | undefined {
  const st = fs.statSync(opened.path, { bigint: true, throwIfNoEntry: false });
  if (st === undefined) return 'was deleted';
  if (st.dev !== opened.handle.dev || st.ino !== opened.handle.ino) return 'was replaced by another file';
  // A database never shrinks below its first page; SQLite itself only truncates at page boundaries.
  if (st.size < BigInt(opened.pageSize)) return `was truncated to ${st.size} bytes`;
  const header = Buffer.alloc(SQLITE_HEADER.length);
  if (readFileStart(opened.handle, header) < header.length || !header.equals(SQLITE_HEADER)) {
    return 'was overwritten with content that is not an SQLite database';
  }
  // Root ignores the mode, so without this a chmod 0400 would not stop root's checkpoints.
  if (opened.ownerWritable && (Number(st.mode) & 0o200) === 0) {
    return `was made read-only (mode ${(Number(st.mode) & 0o777).toString(8).padStart(4, '0')})`;
  }
  return undefined;
}

/**
 * Remembers which file the store opened (device, inode, SQLite header, owner-write bit) and notices
 * when the user changed it under a running store. Once changed, the store is lost for good: every
 * call throws {@link DatabaseReplacedError}, one error is logged, and the connections are closed so
 * that SQLite's checkpoint-on-close cannot copy the WAL over what the user put at the path.
 *
 * That last part rests on SQLite behaviour (checked by tests/reliability/file-trouble.test.ts):
 * only the last connection to close checkpoints, and a read-only connection never does. So the
 * guard keeps a read-only connection open next to the store's; a lost store closes its main
 * connection first (not last: no checkpoint) and the read-only one last (read-only: no checkpoint).
 */
export class FileGuard {
  private readonly opened: OpenedFile;
  private readonly readonlyDb: Database.Database;
  private nextCheck = performance.now() + FILE_CHECK_INTERVAL_MS;
  private lost: DatabaseReplacedError | undefined;
  /** True once the main connection was closed because the file changed. */
  private mainClosed = false;

  /** @param db the store's open connection to a file (not `:memory:`) */
  constructor(private readonly db: Database.Database, private readonly logger: Logger) {
    const file = db.name;
    this.opened = {
      path: file,
      // The process-wide descriptor, never closed: closing any descriptor of the file would drop
      // this process's POSIX locks on it, SQLite's included (see file-handles.ts).
      handle: fileHandle(file),
      pageSize: db.pragma('page_size', { simple: true }) as number,
      ownerWritable: (Number(fs.statSync(file).mode) & 0o200) !== 0,
    };
    this.readonlyDb = openKeeper(file);
  }

  /** The error of a lost store, if the file changed. */
  get error(): DatabaseReplacedError | undefined {
    return this.lost;
  }

  /** Throws when the file was found changed; re-checks it when the last check is old enough. */
  check(): void {
    if (this.lost !== undefined) throw this.lost;
    const now = performance.now();
    if (now < this.nextCheck) return;
    this.nextCheck = now + FILE_CHECK_INTERVAL_MS;
    this.verify();
  }

  /** Checks the file now (before close, before a checkpoint). @throws DatabaseReplacedError */
  verify(): void {
    if (this.lost !== undefined) throw this.lost;
    const change = describeFileChange(this.opened);
    if (change === undefined) return;
    this.lost = new DatabaseReplacedError(this.db.name, change);
    this.logger.error('database file changed while open; the store stopped using it without writing to it', {
      path: this.db.name, change, code: this.lost.code,
    });
    // Closing main now, while the read-only connection stays open, means no later close (nor
    // better-sqlite3's exit hook) can checkpoint. For an in-place change that checkpoint would land
    // on the user's content; after a rename it would only reach the old, unlinked file.
    this.mainClosed = true;
    this.db.close();
    throw this.lost;
  }

  /**
   * Rethrows `err`, first checking the file at once when SQLite reported it damaged or unreadable:
   * SQLite often sees an in-place overwrite before the next timed check, and the caller should get
   * the one clear error rather than `database disk image is malformed` on every poll. Damage in a
   * file that is still the one opened (pages past the first ones) is NotADatabaseError naming it,
   * as when opening it.
   */
  rethrow(err: unknown): never {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && FILE_ERRORS.test(code)) {
      this.verify();
      if (isDamagedFileCode(code)) throw new NotADatabaseError(this.db.name, err);
    }
    throw err;
  }

  /** Closes the store's connection and the read-only one, in the order that writes nothing when the file changed. */
  close(): void {
    try {
      this.verify();
    } catch {
      // Logged once by verify(); a close still has to succeed.
    }
    // Healthy: main closes last, so it checkpoints and removes the WAL as before.
    this.readonlyDb.close();
    if (!this.mainClosed) this.db.close();
  }
}
