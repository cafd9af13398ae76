import type { Clock } from '../core/clock';
import { openMaintenanceConnection } from '../queue/maintenance/sqlite-file';
import { MirrorStore } from '../queue/sqlite/mirror-store';
import { assertSchemaNotNewer, readSchemaVersion } from '../queue/sqlite/migrations';

/**
 * A mirror store on a read-only connection, for the reports that must only read (`parity`,
 * `rollback --dry-run`): `openMirrorStore` would switch the file to WAL and migrate its schema,
 * both writes, on a file an operator only asked to inspect. The file must exist.
 * @returns undefined for a file with no taskbridge schema yet (empty, or `user_version` 0): no run
 *   was ever written to it, so the reports read it as empty, as `list` and `stats` do
 * @throws SchemaTooNewError for a file written by a newer taskbridge; SQLite's error for anything unreadable
 */
export function openReadOnlyMirrorStore(dbPath: string, clock: Clock): MirrorStore | undefined {
  const db = openMaintenanceConnection(dbPath, { readonly: true });
  try {
    assertSchemaNotNewer(db, dbPath);
    if (readSchemaVersion(db) === 0) {
      db.close();
      return undefined;
    }
    return new MirrorStore(db, clock, true);
  } catch (err) {
    db.close();
    throw err;
  }
}
