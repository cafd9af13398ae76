/**
 * Child process of the end-to-end scenario: one plainjob worker (processes one job at a time)
 * with a noop processor on the shared database file. Same IPC protocol as e2e-worker.js.
 * argv: <db file>
 */
import Database from 'better-sqlite3';
import { better, defineQueue, defineWorker } from 'plainjob';

const [file] = process.argv.slice(2);
const quiet = { error: (...a) => console.error(...a), warn() {}, info() {}, debug() {} };
const db = new Database(file);
const queue = defineQueue({ connection: better(db), logger: quiet });
let handled = 0;
const worker = defineWorker('noop', () => { handled++; }, { queue, logger: quiet, pollIntervall: 50 });
let running;

process.on('message', async (msg) => {
  if (msg === 'go') {
    running = worker.start();
  } else if (msg === 'stop') {
    await worker.stop();
    await running;
    queue.close(); // closes the connection too
    // plainjob keeps a maintenance interval; exit explicitly.
    process.send({ handled }, () => process.exit(0));
  }
});
process.send('ready');
