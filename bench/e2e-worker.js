'use strict';
/**
 * Child process of the end-to-end scenario: one taskbridge Worker with a noop handler on the
 * shared database file. Protocol over IPC: sends 'ready'; on 'go' starts the worker; on 'stop'
 * stops it, closes the store, sends { handled } and exits. With 'meter' it also sends cpuUs, the
 * process's CPU from 'go' to the end of stop(), and lock, what it spent holding the write lock
 * (bench/lib/lock-meter).
 * argv: <db file> <concurrency> [meter]
 */
const { openStore } = require('./lib/queue');
const { Worker } = require('../dist/queue/worker');
const { HandlerRegistry } = require('../dist/queue/handler-registry');
const { createLockMeter } = require('./lib/lock-meter');

const [file, concurrencyArg, meterArg] = process.argv.slice(2);
const quiet = { error: (...a) => console.error(...a), warn() {}, info() {}, debug() {} };
const lockMeter = meterArg === 'meter' ? createLockMeter() : undefined;
const store = openStore(file);
lockMeter?.watchStore(store);
let handled = 0;
const registry = new HandlerRegistry().register('noop', () => {
  handled++;
});
const worker = new Worker(store, registry, { concurrency: Number(concurrencyArg), logger: quiet });

let cpuAtGo;
process.on('message', async (msg) => {
  if (msg === 'go') {
    lockMeter?.reset();
    cpuAtGo = process.cpuUsage();
    await worker.start();
  } else if (msg === 'stop') {
    await worker.stop();
    const cpu = process.cpuUsage(cpuAtGo);
    store.closeSync();
    const report = lockMeter ? { handled, cpuUs: cpu.user + cpu.system, lock: lockMeter.snapshot() } : { handled };
    process.send(report, () => process.exit(0));
  }
});
process.send('ready');
