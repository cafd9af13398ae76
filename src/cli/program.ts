import { Command, CommanderError } from 'commander';
import { TaskbridgeError } from '../core/errors';
import { shortenEchoedArgument } from './commander-echo';
import { EXIT, ReportedFailure, defaultDbPath, exitCodeFor, parseNonBlankArg } from './common';
import { registerDemoCommand } from './demo';
import { registerMaintenanceCommands } from './maintenance';
import { registerMigrationCommands } from './migration';
import { registerOpsCommands } from './ops';
import { registerTaskCommands } from './tasks';
import { registerWorkerCommand } from './worker';

// Read at run time: package.json sits beside dist/ in the installed package.
const VERSION = (require('../../package.json') as { version: string }).version;

const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  failure (the command ran and failed, or found what it checks for: unhealthy, parity mismatch)
  2  bad usage (unknown command or option, missing or malformed argument)

The database is --db PATH, else $TASKBRIDGE_DB_PATH, else ./data/taskbridge.db.`;

/** Builds the `taskbridge` command tree. Commander exits are turned into exceptions for {@link run}. */
export function buildProgram(): Command {
  const program = new Command('taskbridge');
  program
    .description('Operate a taskbridge queue: run workers, inspect and steer tasks, check health, back up, migrate.')
    .version(VERSION, '-V, --version')
    .option('--db <path>', `database file (default: $TASKBRIDGE_DB_PATH or ${defaultDbPath({})})`, parseNonBlankArg('a database file path'))
    .option('--json', 'print one JSON document on stdout instead of tables')
    .showHelpAfterError('(run with --help for usage)')
    // Set before the subcommands are added: each copies the output settings when created.
    .configureOutput({ outputError: (text, write) => write(shortenEchoedArgument(text)) })
    .exitOverride()
    .addHelpText('after', EXIT_CODES_HELP);
  registerTaskCommands(program);
  registerWorkerCommand(program);
  registerOpsCommands(program);
  registerMaintenanceCommands(program);
  registerMigrationCommands(program);
  registerDemoCommand(program);
  return program;
}

/**
 * Runs the CLI with `argv` (as in `process.argv`) and resolves to the exit code. Errors are printed
 * here: a human line on stderr, plus a JSON document on stdout with `--json`.
 */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return EXIT.OK;
  } catch (error) {
    // Commander already printed its message (or the help text) on stderr; with --json a script
    // reads stdout, so a usage error is also the documented error document there.
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.OK;
      if (argv.includes('--json')) printErrorDocument('TASKBRIDGE_USAGE', shortenEchoedArgument(error.message).replace(/^error: /, ''));
      return EXIT.USAGE;
    }
    if (error instanceof ReportedFailure) return EXIT.FAILURE;
    const code = exitCodeFor(error);
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`taskbridge: ${code === EXIT.USAGE ? 'usage error' : 'error'}: ${message}\n`);
    if (argv.includes('--json')) {
      printErrorDocument(error instanceof TaskbridgeError ? error.code : code === EXIT.USAGE ? 'TASKBRIDGE_USAGE' : 'TASKBRIDGE_ERROR', message);
    }
    return code;
  }
}

/** The `{ error: { code, message } }` document docs/cli.md promises on stdout for every error under --json. */
function printErrorDocument(code: string, message: string): void {
  process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
}
