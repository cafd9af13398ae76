#!/usr/bin/env node
/** Entry point of the `taskbridge` command (the package's `bin`). */
import { run } from './program';

// A reader that stops early (`taskbridge list | head`) closes the pipe, and the next write fails
// with EPIPE, which Node raises as an unhandled 'error' event: a stack trace and exit 1 after the
// command had done its work (an enqueue is stored, so a script reading exit 1 would enqueue it
// again). What the reader no longer wants is dropped and the command's own exit code stands.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

void run(process.argv).then((code) => {
  // exitCode rather than exit(): lets stdout drain when it is a pipe.
  process.exitCode = code;
});
