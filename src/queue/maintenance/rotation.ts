import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../core/clock';
import { InvalidOptionError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { backupDatabase, type BackupResult } from './backup';
import { removeDatabaseFiles } from './partial-files';

/** Settings of {@link rotatingBackup}. */
export interface RotatingBackupOptions {
  /** Folder the backups go to (created when missing). */
  directory: string;
  /** How many backups to keep; older ones are deleted after a new one verified. Integer >= 1. */
  keep: number;
  /** File name prefix. Default `'taskbridge-'`. Only files with this prefix are ever deleted. */
  prefix?: string;
  clock: Clock;
  logger?: Logger;
}

/** A rotation: the backup written and the old backups removed. */
export interface RotatingBackupResult {
  readonly backup: BackupResult;
  readonly removed: readonly string[];
}

/**
 * Writes a verified, timestamped backup (`taskbridge-20260101T120000000Z.db`) into `directory`, then
 * deletes the oldest ones beyond `keep` (the new one always stays). Deletion happens only after the
 * new backup verified, so a failing backup never reduces the number of good ones.
 */
export async function rotatingBackup(sourcePath: string, options: RotatingBackupOptions): Promise<RotatingBackupResult> {
  if (!Number.isInteger(options.keep) || options.keep < 1) throw new InvalidOptionError('keep', options.keep, 'an integer >= 1');
  const prefix = options.prefix ?? 'taskbridge-';
  const directory = path.resolve(options.directory);
  // The timestamp sorts lexically in time order, which is what the pruning below relies on.
  const stamp = new Date(options.clock.now()).toISOString().replace(/[-:.]/g, '');
  const backup = await backupDatabase(sourcePath, path.join(directory, `${prefix}${stamp}.db`), { logger: options.logger });
  // The backup just written is kept whatever its stamp: after the clock stepped back it sorts
  // before older backups, and pruning by name alone would delete the newest data.
  const older = fs
    .readdirSync(directory)
    .filter((name) => name.startsWith(prefix) && /^\d{8}T\d{9}Z\.db$/.test(name.slice(prefix.length)))
    .filter((name) => path.join(directory, name) !== backup.file)
    .sort();
  const removed = older.slice(0, Math.max(0, older.length - (options.keep - 1))).map((name) => path.join(directory, name));
  for (const file of removed) removeDatabaseFiles(file);
  options.logger?.info('rotating backup', { file: backup.file, kept: 1 + Math.min(older.length, options.keep - 1), removed });
  return { backup, removed };
}
