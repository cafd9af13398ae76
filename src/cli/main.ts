#!/usr/bin/env node
/** Entry point of the `taskbridge` command (the package's `bin`). */
import { run } from './program';

void run(process.argv).then((code) => {
  // exitCode rather than exit(): lets stdout drain when it is a pipe.
  process.exitCode = code;
});
