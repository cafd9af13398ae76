import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../core/logger';

/**
 * The files a page copy writes beside its destination: `<file>.partial-<pid>`, created private,
 * and removed again by whoever finds them abandoned.
 */

/** The companions SQLite keeps beside a database file. */
const COMPANIONS = ['-wal', '-shm', '-journal'] as const;

/**
 * Creates `file` empty with mode 0600 before SQLite writes the first page into it, so the copy
 * never sits readable by others (SQLite creates a missing file with the umask's mode, 0644 under
 * umask 022, and gives its -journal/-wal the mode of the database file). A file of that name and
 * its companions are removed first: a killed process whose pid this one reuses (containers restart
 * at the same pid) left them, and a stale -journal would be rolled back into the new copy.
 */
export function createPrivateFile(file: string): void {
  removeDatabaseFiles(file);
  fs.writeFileSync(file, '', { mode: 0o600, flag: 'wx' });
}

/**
 * Why `destination` cannot receive a backup of `source`, or undefined when it can: the database
 * itself, one of its companions (renamed over the live -wal, the copy would make the database
 * unreadable and lose the commits only the WAL held), or a folder (found before copying, not at
 * the rename after a whole copy).
 */
export function unusableDestination(source: string, destination: string): string | undefined {
  if (destination === source) return 'the backup file cannot be the database itself';
  if (COMPANIONS.some((suffix) => destination === `${source}${suffix}`)) {
    return `the backup file cannot be the database's own ${destination.slice(source.length)} file`;
  }
  if (fs.statSync(destination, { throwIfNoEntry: false })?.isDirectory() === true) return 'the backup file is a folder: give a file path inside it';
  return undefined;
}

// From COMPANIONS, so a companion added there is cleaned up here too.
const PARTIAL = new RegExp(`\\.partial-(\\d+)(?:${COMPANIONS.join('|')})?$`);

/**
 * Deletes the `<backup>.partial-<pid>` files of backups whose process died mid-copy (a SIGKILL skips
 * their cleanup, and every run uses its own pid, so nothing else would ever remove them). A file
 * of a live process, this one included, may be a copy in progress and is left alone.
 */
export function removeAbandonedPartials(directory: string, logger?: Logger): string[] {
  const removed: string[] = [];
  for (const name of fs.readdirSync(directory)) {
    const pid = Number(PARTIAL.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    const file = path.join(directory, name);
    fs.rmSync(file, { force: true });
    removed.push(file);
  }
  if (removed.length > 0) logger?.info('removed partial backup files of processes that no longer run', { removed });
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes a database file with its -wal/-shm/-journal companions, ignoring the ones that do not exist. */
export function removeDatabaseFiles(file: string): void {
  for (const suffix of ['', ...COMPANIONS]) fs.rmSync(`${file}${suffix}`, { force: true });
}
