import type { Clock } from '../core/clock';
import { MirrorStore } from '../queue/sqlite/mirror-store';
import { openReadOnlyDatabase, readOnlyError } from '../queue/sqlite/read-only-file';

export { readOnlyError };

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
export function openReadOnlyMirrorStore(dbPath: string, clock: Clock): MirrorStore | undefined {
  const db = openReadOnlyDatabase(dbPath);
  if (db === undefined) return undefined;
  try {
    return new MirrorStore(db, clock, true);
  } catch (error) {
    db.close();
    throw readOnlyError(dbPath, error, true);
  }
}
