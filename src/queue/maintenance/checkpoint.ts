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
 * Copies the WAL back into the database file. The default TRUNCATE mode also shrinks the WAL file to
 * zero bytes, which keeps a long-running worker's WAL from growing without bound; it waits on
 * busy_timeout for writers but never blocks them for long.
 * @throws InvalidOptionError for a mode that is not one of {@link CheckpointMode}
 */
export function checkpoint(db: Database.Database, options: { mode?: CheckpointMode; logger?: Logger } = {}): CheckpointResult {
  const mode = validateCheckpointMode('mode', options.mode ?? 'TRUNCATE');
  const walFile = `${db.name}-wal`;
  const walBytesBefore = fileSize(walFile);
  const row = db.pragma(`wal_checkpoint(${mode})`, { simple: false }) as { busy: number; log: number; checkpointed: number }[];
  const first = row[0] ?? { busy: 0, log: -1, checkpointed: -1 };
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
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly durationMs: number;
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
  db.pragma('wal_checkpoint(TRUNCATE)');
  const result: VacuumResult = { bytesBefore, bytesAfter: databaseBytes(db), durationMs: Date.now() - started };
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
