'use strict';
/** Shared helpers for scenarios that use the built store (../dist). */
const { createSqliteTaskStore } = require('../../dist/queue/store-factory');
const { createStrategy } = require('../../dist/strategies');

/** A store on `file` with its defaults (WAL, synchronous NORMAL) and a logger that stays quiet. */
function openStore(file) {
  const quiet = { error() {}, warn() {}, info() {}, debug() {} };
  return createSqliteTaskStore({ path: file, logger: quiet });
}

/** Enqueues `count` tasks with enqueueBatchSync in transactions of `batch`; `priorityOf(i)` spreads priorities. */
function fillBacklog(store, count, { batch = 10_000, type = 'noop', priorityOf } = {}) {
  for (let done = 0; done < count; done += batch) {
    const n = Math.min(batch, count - done);
    const reqs = new Array(n);
    for (let i = 0; i < n; i++) {
      reqs[i] = priorityOf ? { type, payload: { i: done + i }, priority: priorityOf(done + i) } : { type, payload: { i: done + i } };
    }
    store.enqueueBatchSync(reqs);
  }
}

function claimRequest(strategyName, workerId = 'bench') {
  return { workerId, limit: 1, leaseMs: 30_000, strategy: createStrategy(strategyName), types: ['noop'] };
}

module.exports = { openStore, fillBacklog, claimRequest };
