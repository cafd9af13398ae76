'use strict';
/** Small statistics helpers for the bench: nearest-rank percentiles and the median of runs. */

/** Nearest-rank percentile of an array of numbers (sorted copy; the input is left alone). */
function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function median(values) {
  return percentile(values, 50);
}

/** Milliseconds since `start` (a bigint from process.hrtime.bigint()). */
function msSince(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs `measure(runIndex)` `runs` times; each call returns an object of numbers. Returns the median of each key plus every run's values. */
async function medianOfRuns(runs, measure) {
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await measure(i));
  const out = { runs, perRun: all };
  for (const key of Object.keys(all[0])) out[key] = median(all.map((r) => r[key]));
  return out;
}

module.exports = { percentile, median, msSince, medianOfRuns };
