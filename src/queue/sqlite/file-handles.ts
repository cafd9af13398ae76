import fs from 'node:fs';

/**
 * Read-only descriptors of database files, one per file (device + inode), kept for the life of the
 * process. POSIX advisory locks belong to the process and the inode: closing ANY descriptor of a
 * database file drops every lock this process holds on it, SQLite's included, which lets another
 * process decide it is the last user and checkpoint or delete the WAL under us (SQLite's "How To
 * Corrupt An SQLite Database File", section 2.2). So taskbridge never closes a descriptor it opened
 * on a database file: the cost is one descriptor per distinct file, released when the process ends.
 */
const byInode = new Map<string, number>();

export interface FileHandle {
  readonly fd: number;
  readonly dev: bigint;
  readonly ino: bigint;
}

/**
 * The process-wide read-only descriptor of the file now at `file`, opened on first use.
 * @throws the `fs` error (ENOENT, EACCES, ...) when the file cannot be opened
 */
export function fileHandle(file: string): FileHandle {
  const known = fs.statSync(file, { bigint: true });
  const existing = byInode.get(`${known.dev}:${known.ino}`);
  if (existing !== undefined) return { fd: existing, dev: known.dev, ino: known.ino };
  const fd = fs.openSync(file, 'r');
  // The path may have been renamed over between stat and open: key by what was really opened.
  const opened = fs.fstatSync(fd, { bigint: true });
  const key = `${opened.dev}:${opened.ino}`;
  const raced = byInode.get(key);
  if (raced !== undefined) {
    // Another caller registered this inode meanwhile; the extra descriptor stays open too (closing
    // it would drop the locks), and is simply not remembered.
    return { fd: raced, dev: opened.dev, ino: opened.ino };
  }
  byInode.set(key, fd);
  return { fd, dev: opened.dev, ino: opened.ino };
}

/** Reads up to `into.length` bytes from the start of the file through its kept descriptor. */
export function readFileStart(handle: FileHandle, into: Buffer): number {
  return fs.readSync(handle.fd, into, 0, into.length, 0);
}
