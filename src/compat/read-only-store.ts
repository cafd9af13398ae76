import type { Clock } from '../core/clock';
import { openMaintenanceConnection } from '../queue/maintenance/sqlite-file';
import { MirrorStore } from '../queue/sqlite/mirror-store';
import { assertSchemaNotNewer } from '../queue/sqlite/migrations';

/**
 * A mirror store on a read-only connection, for the reports that must only read (`parity`,
 * `rollback --dry-run`): `openMirrorStore` would switch the file to WAL and migrate its schema,
 * both writes, on a file an operator only asked to inspect. The file must exist.
 * @throws SchemaTooNewError for a file written by a newer taskbridge; SQLite's error for anything unreadable
 */
export function openReadOnlyMirrorStore(dbPath: string, clock: Clock): MirrorStore {
  const db = openMaintenanceConnection(dbPath, { readonly: true });
  try {
    assertSchemaNotNewer(db, dbPath);
    return new MirrorStore(db, clock, true);
  } catch (err) {
    db.close();
    throw err;
  }
}
