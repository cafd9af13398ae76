'use strict';
/**
 * Measures how much CPU a bench child spends holding SQLite's write lock, so the end-to-end
 * scenario can say what the lock allows at best: with every task's writes serialized by one lock,
 * N processes can never exceed 1 / (lock CPU per task), however well they hand it over.
 *
 * Counted as holding the lock: every `BEGIN IMMEDIATE ... COMMIT` run through better-sqlite3's
 * `transaction().immediate()` (claims, complete-and-claim), and the store's `completeManySync`
 * (an autocommit UPDATE, i.e. a write transaction of its own). The CPU of a call includes a little
 * JS around the SQL, so the figure slightly overstates the lock's share and understates the ceiling.
 * Bench-only: the library is not instrumented.
 */
const Database = require('better-sqlite3');

function createLockMeter() {
  const totals = { transactions: 0, cpuUs: 0 };
  const timed = (fn) =>
    function timedWrite(...args) {
      const start = process.cpuUsage();
      try {
        return fn.apply(this, args);
      } finally {
        const used = process.cpuUsage(start);
        totals.transactions++;
        totals.cpuUs += used.user + used.system;
      }
    };
  const transaction = Database.prototype.transaction;
  Database.prototype.transaction = function meteredTransaction(fn) {
    // better-sqlite3 makes the variants read-only, so hand out a twin with a metered `immediate`.
    const wrapped = transaction.call(this, fn);
    const twin = function meteredDefault(...args) {
      return wrapped.apply(this, args);
    };
    for (const variant of ['default', 'deferred', 'exclusive']) twin[variant] = wrapped[variant];
    twin.immediate = timed(wrapped.immediate);
    return twin;
  };
  return {
    /** Meters the store's autocommit batch completion too. */
    watchStore(store) {
      store.completeManySync = timed(store.completeManySync);
    },
    /** Starts counting from zero (call at 'go'). */
    reset() {
      totals.transactions = 0;
      totals.cpuUs = 0;
    },
    snapshot() {
      return { ...totals };
    },
  };
}

module.exports = { createLockMeter };
