'use strict';
/** A fresh temp directory per database file, removed afterwards (db, -wal and -shm included). */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function tempDbPath(label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `taskbridge-bench-${label}-`));
  return path.join(dir, 'bench.db');
}

function removeDb(file) {
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
}

module.exports = { tempDbPath, removeDb };
