'use strict';
/** Command-line options shared by the orchestrator and the scenario scripts. */
function parseArgs(argv) {
  const out = { quick: false, only: undefined, runs: undefined, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') out.quick = true;
    else if (a === '--only') out.only = argv[++i];
    else if (a === '--runs') out.runs = Number(argv[++i]);
    else if (a === '--out') out.out = argv[++i];
    else throw new Error(`unknown option ${a}; accepted: --quick, --only <scenario>, --runs <n>`);
  }
  if (out.runs !== undefined && (!Number.isInteger(out.runs) || out.runs < 1)) throw new Error(`--runs ${out.runs}: a positive integer`);
  return out;
}

module.exports = { parseArgs };
