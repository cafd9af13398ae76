/** Database maintenance: checkpoint, vacuum, retention cleanup, verified online backups, and a scheduler for them. */
export { backupDatabase, restoreDatabase, verifyBackupFile, BackupVerificationError } from './backup';
export type { BackupOptions, BackupResult, CopyProgress, RestoreOptions, RestoreResult } from './backup';
export { checkpoint, vacuum, databaseBytes } from './checkpoint';
export type { CheckpointMode, CheckpointResult, VacuumResult } from './checkpoint';
export { cleanupFinishedTasks } from './retention';
export type { RetentionPolicy, RetentionResult } from './retention';
export { rotatingBackup } from './rotation';
export type { RotatingBackupOptions, RotatingBackupResult } from './rotation';
export { MaintenanceScheduler } from './scheduler';
export type { MaintenanceJob, MaintenanceOptions } from './scheduler';
export { openMaintenanceConnection, tableCounts, integrityProblems } from './sqlite-file';
export type { TableCounts } from './sqlite-file';
