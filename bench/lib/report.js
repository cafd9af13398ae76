'use strict';
/** How a scenario hands its rows to the orchestrator: one JSON file named by --out. */
const fs = require('node:fs');

function writeRows(outFile, rows, extra = {}) {
  const data = JSON.stringify({ rows, ...extra }, null, 2);
  if (outFile) fs.writeFileSync(outFile, data);
  else process.stdout.write(`${data}\n`);
}

/** Progress goes to stderr so stdout stays clean. */
function log(...parts) {
  process.stderr.write(`${parts.join(' ')}\n`);
}

module.exports = { writeRows, log };
