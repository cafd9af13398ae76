'use strict';
/**
 * The windowed producer of the sustained manager rows (bench/manager.js) and the probes: an
 * application that starts runs as work arrives and keeps at most `window` outstanding (started,
 * work not finished).
 */

/** A case whose runs stop ending for this long has stalled: fail it instead of hanging the bench. */
const STALL_MS = 60_000;

/**
 * Starts `runs` through a window of at most `window` outstanding runs (started, work not finished),
 * then awaits waitAll(). startTask is called back to back while the window has room; the producer
 * yields only when it is full, until the work of some run ends. Work: setTimeout(1 ms), like WORK['1ms'].
 */
async function produce(manager, runs, window) {
  let outstanding = 0;
  let waiter = null;
  let lastEnd = Date.now();
  const work = () =>
    new Promise((resolve) =>
      setTimeout(() => {
        outstanding--;
        lastEnd = Date.now();
        if (waiter !== null) {
          const w = waiter;
          waiter = null;
          w.resolve();
        }
        resolve();
      }, 1),
    );
  // One watchdog per case (not per wait, so the producer's own cost stays that of the loop below).
  const watchdog = setInterval(() => {
    if (waiter !== null && Date.now() - lastEnd > STALL_MS) {
      const w = waiter;
      waiter = null;
      w.reject(new Error(`sustained W=${window}: no run's work ended for ${STALL_MS} ms with ${outstanding} outstanding`));
    }
  }, 5_000);
  watchdog.unref();
  try {
    for (let i = 0; i < runs.length; i++) {
      while (outstanding >= window) await new Promise((resolve, reject) => (waiter = { resolve, reject }));
      outstanding++;
      manager.startTask(runs[i], work);
    }
    await manager.waitAll();
  } finally {
    clearInterval(watchdog);
  }
}

module.exports = { produceSustained: produce };
