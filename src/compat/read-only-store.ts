import type { Clock } from '../core/clock';
import { MirrorStore } from '../queue/sqlite/mirror-store';
import { openReadOnlyDatabase, readOnlyError } from '../queue/sqlite/read-only-file';

/**
 * A mirror store on a read-only connection, for the reports that must only read (`parity`,
 * `rollback --dry-run`, checkParityWithFile): `openMirrorStore` would create a missing file, switch
 * it to WAL and migrate its schema, all writes, on a file the caller only asked to inspect.
 * @returns undefined for a file with no taskbridge schema yet (empty, or `user_version` 0): no run
 *   was ever written to it, so the reports read it as empty, as `list` and `stats` do
 * @throws DatabaseMissingError when nothing is at the path (nothing is created);
 *   NotADatabaseError for a file that is not SQLite, or is damaged where it is first read;
 *   DatabaseUnreadableError for a folder or a file that cannot be read; SchemaTooNewError for a
 *   file written by a newer taskbridge. Damage further in surfaces on a later read: map it with
 *   {@link readOnlyError}.
 */
function openReadOnlyMirrorStore(dbPath: string, clock: Clock): MirrorStore | undefined {
  const db = openReadOnlyDatabase(dbPath);
  if (db === undefined) return undefined;
  try {
    return new MirrorStore(db, clock, true);
  } catch (error) {
    db.close();
    throw readOnlyError(dbPath, error, true);
  }
}

/**
 * Runs `read` on a read-only mirror store of `dbPath` and closes it: `empty()` for a file with no
 * taskbridge schema yet. Damage past the pages the open read surfaces only in `read`: typed here.
 * @throws as {@link openReadOnlyMirrorStore}, and {@link readOnlyError}'s mapping of read errors
 */
export function readMirrorFile<T>(dbPath: string, clock: Clock, read: (store: MirrorStore) => T, empty: () => T): T {
  const store = openReadOnlyMirrorStore(dbPath, clock);
  if (store === undefined) return empty();
  try {
    return read(store);
  } catch (err) {
    throw readOnlyError(dbPath, err);
  } finally {
    store.close();
  }
}
