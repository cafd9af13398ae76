'use strict';
/**
 * Child process of the end-to-end scenario: one taskbridge Worker with a noop handler on the
 * shared database file. Protocol over IPC: sends 'ready'; on 'go' starts the worker; on 'stop'
 * stops it, closes the store, sends { handled } and exits.
 * argv: <db file> <concurrency>
 */
const { openStore } = require('./lib/queue');
const { Worker } = require('../dist/queue/worker');
const { HandlerRegistry } = require('../dist/queue/handler-registry');

const [file, concurrencyArg] = process.argv.slice(2);
const quiet = { error: (...a) => console.error(...a), warn() {}, info() {}, debug() {} };
const store = openStore(file);
let handled = 0;
const registry = new HandlerRegistry().register('noop', () => {
  handled++;
});
const worker = new Worker(store, registry, { concurrency: Number(concurrencyArg), logger: quiet });

process.on('message', async (msg) => {
  if (msg === 'go') {
    await worker.start();
  } else if (msg === 'stop') {
    await worker.stop();
    store.closeSync();
    process.send({ handled }, () => process.exit(0));
  }
});
process.send('ready');
