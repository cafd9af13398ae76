import fs from 'node:fs';
import Database = require('better-sqlite3');
import { isMemoryPath, SQLITE_HEADER } from '../queue/sqlite/connection';
import { fileHandle, readFileStart, type FileHandle } from '../queue/sqlite/file-handles';
import type { MirrorStore } from '../queue/sqlite/mirror-store';

/**
 * The shadow mirror's watch on its database file, as it was when the mirror opened it: a file
 * deleted, renamed over or overwritten in place under the running process gives no SQLite error,
 * so the writer asks this guard before each batch, renewal and close (a stat and a 16-byte read),
 * the way the queue's FileGuard does, and stops for good on a change. The guard also owns the order
 * in which the mirror's connections close, which decides whether anything is checkpointed onto the file.
 */
export class MirrorFileGuard {
  private constructor(
    private readonly handle: FileHandle,
    private readonly pageSize: number,
    /** A read-only connection holding a shared lock, so the mirror's connection is never the last to close on a changed file. */
    private readonly keeper: Database.Database,
  ) {}

  /**
   * Starts watching the file of `db`; undefined for an in-memory database (no file to change).
   * @throws SQLite's or the file system's error when the file cannot be opened a second time
   */
  static watch(db: Database.Database): MirrorFileGuard | undefined {
    if (isMemoryPath(db.name)) return undefined;
    // The process-wide descriptor: closing any descriptor of the file would drop SQLite's locks (file-handles.ts).
    const handle = fileHandle(db.name);
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const keeper = new Database(db.name, { readonly: true, fileMustExist: true });
    keeper.pragma('cache_size = -64');
    keeper.prepare('SELECT count(*) FROM sqlite_master').get();
    return new MirrorFileGuard(handle, pageSize, keeper);
  }

  /** The watched path. */
  get path(): string {
    return this.keeper.name;
  }

  /**
   * Closes `store`, then the keeper, without writing to the file: for a file that changed. Main
   * first, keeper last: a read-only connection never checkpoints, and being the last one it keeps
   * the main connection's close from copying the WAL onto the file.
   */
  abandon(store: MirrorStore): void {
    store.close();
    this.keeper.close();
  }

  /** Closes the keeper, then `store`, so the mirror's own close is the last one and checkpoints as usual. */
  closeWith(store: MirrorStore | undefined): void {
    this.keeper.close();
    store?.close();
  }

  /**
   * How the file at the watched path differs from the one opened, or undefined when it does not. A
   * read-only mode is not a change: SQLite reports it (SQLITE_READONLY), and the mirror retries.
   * @throws the file system's error when the path cannot be inspected
   */
  change(): string | undefined {
    const st = fs.statSync(this.keeper.name, { bigint: true, throwIfNoEntry: false });
    if (st === undefined) return 'was deleted';
    if (st.dev !== this.handle.dev || st.ino !== this.handle.ino) return 'was replaced by another file';
    // SQLite only ever truncates at page boundaries, and never below the first page.
    if (st.size < BigInt(this.pageSize)) return `was truncated to ${st.size} bytes`;
    const header = Buffer.alloc(SQLITE_HEADER.length);
    if (readFileStart(this.handle, header) < header.length || !header.equals(SQLITE_HEADER)) {
      return 'was overwritten with content that is not an SQLite database';
    }
    return undefined;
  }
}
