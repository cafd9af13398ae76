import fs from 'node:fs';
import type Database = require('better-sqlite3');
import { InvalidOptionError } from '../../core/errors';
import type { Logger } from '../../core/logger';

/** Checkpoint modes of `PRAGMA wal_checkpoint`. */
export type CheckpointMode = 'PASSIVE' | 'FULL' | 'RESTART' | 'TRUNCATE';
const MODES: readonly CheckpointMode[] = ['PASSIVE', 'FULL', 'RESTART', 'TRUNCATE'];

/**
 * Checks a checkpoint mode; the mode is written into the pragma's text, so only the four names pass.
 * @throws InvalidOptionError naming `field`, the value and the accepted modes
 */
export function validateCheckpointMode(field: string, mode: unknown): CheckpointMode {
  if (!MODES.includes(mode as CheckpointMode)) throw new InvalidOptionError(field, mode, MODES.join(', '));
  return mode as CheckpointMode;
}

/** Outcome of a WAL checkpoint. */
export interface CheckpointResult {
  readonly mode: CheckpointMode;
  /** True when a reader or writer kept the checkpoint from finishing (it is retried at the next run). */
  readonly busy: boolean;
  /** Frames in the WAL when the checkpoint ran (-1 when the database is not in WAL mode). */
  readonly walFrames: number;
  /** Frames copied back into the database file. */
  readonly checkpointedFrames: number;
  readonly walBytesBefore: number;
  readonly walBytesAfter: number;
}

/**
 * How long a checkpoint waits for other connections, at most. FULL, RESTART and TRUNCATE hold the
 * write lock while they wait for readers, so every writer of every process waits with them: with
 * the connection's busy_timeout (5 s), a reader that stays (a backup holds one for its whole copy)
 * stalled all workers that long, and a worker's own scheduler blocked its event loop as long.
 */
const CHECKPOINT_WAIT_MS = 250;

/** Runs `PRAGMA wal_checkpoint(mode)` waiting at most {@link CHECKPOINT_WAIT_MS}; the connection's busy_timeout is restored after. */
function walCheckpoint(db: Database.Database, mode: CheckpointMode): { busy: number; log: number; checkpointed: number } {
  const busyTimeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma(`busy_timeout = ${Math.min(busyTimeout, CHECKPOINT_WAIT_MS)}`);
  try {
    const rows = db.pragma(`wal_checkpoint(${mode})`, { simple: false }) as { busy: number; log: number; checkpointed: number }[];
    return rows[0] ?? { busy: 0, log: -1, checkpointed: -1 };
  } finally {
    db.pragma(`busy_timeout = ${busyTimeout}`);
  }
}

/**
 * Copies the WAL back into the database file. The default TRUNCATE mode also shrinks the WAL file to
 * zero bytes, which keeps a long-running worker's WAL from growing without bound. It waits at most
 * 250 ms (less when the connection's busy_timeout is shorter) for a writer's commit or a reader,
 * holding the write lock while it waits for readers; when they are still there it stops and
 * reports `busy` (the next run tries again).
 * @throws InvalidOptionError for a mode that is not one of {@link CheckpointMode}
 */
export function checkpoint(db: Database.Database, options: { mode?: CheckpointMode; logger?: Logger } = {}): CheckpointResult {
  const mode = validateCheckpointMode('mode', options.mode ?? 'TRUNCATE');
  const walFile = `${db.name}-wal`;
  const walBytesBefore = fileSize(walFile);
  const first = walCheckpoint(db, mode);
  const result: CheckpointResult = {
    mode,
    busy: first.busy !== 0,
    walFrames: first.log,
    checkpointedFrames: first.checkpointed,
    walBytesBefore,
    walBytesAfter: fileSize(walFile),
  };
  options.logger?.info('wal checkpoint', { ...result });
  return result;
}

/** Outcome of a VACUUM. */
export interface VacuumResult {
  /** Database file plus WAL, before and after. */
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly durationMs: number;
  /**
   * True when a reader kept the checkpoint after the rebuild from finishing: the rebuilt database
   * waits in the WAL (so `bytesAfter` may exceed `bytesBefore`) and the file shrinks at a later
   * checkpoint (`taskbridge checkpoint`).
   */
  readonly busy: boolean;
}

/**
 * Rebuilds the database file to return the pages freed by deletions to the file system. It takes
 * the write lock for its whole run, so workers wait (busy_timeout) meanwhile: run it off-peak.
 */
export function vacuum(db: Database.Database, options: { logger?: Logger } = {}): VacuumResult {
  const started = Date.now();
  const bytesBefore = databaseBytes(db);
  db.exec('VACUUM');
  // Without a checkpoint the rebuilt pages sit in the WAL and the file does not shrink yet.
  const busy = walCheckpoint(db, 'TRUNCATE').busy !== 0;
  const result: VacuumResult = { bytesBefore, bytesAfter: databaseBytes(db), durationMs: Date.now() - started, busy };
  options.logger?.info('vacuum', { ...result });
  return result;
}

/** Size of the database file plus its WAL, in bytes. */
export function databaseBytes(db: Database.Database): number {
  return fileSize(db.name) + fileSize(`${db.name}-wal`);
}

/** Size of a file in bytes; 0 when it does not exist. */
export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
