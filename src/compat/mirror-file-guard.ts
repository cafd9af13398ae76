import type Database = require('better-sqlite3');
import { isMemoryPath } from '../queue/sqlite/connection';
import { describeFileChange, openKeeper, type OpenedFile } from '../queue/sqlite/file-guard';
import { fileHandle } from '../queue/sqlite/file-handles';
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
    private readonly opened: OpenedFile,
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
    // ownerWritable false: a read-only mode is not a change here (see change()).
    const opened = { path: db.name, handle: fileHandle(db.name), pageSize: db.pragma('page_size', { simple: true }) as number, ownerWritable: false };
    return new MirrorFileGuard(opened, openKeeper(db.name));
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
    return describeFileChange(this.opened);
  }
}
