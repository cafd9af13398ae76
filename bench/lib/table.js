'use strict';
/** Prints result rows as an aligned text table (and as Markdown for the README). */

function fmt(value) {
  if (typeof value !== 'number') return String(value ?? '');
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  if (Math.abs(value) >= 0.1) return value.toFixed(3);
  return value.toFixed(4);
}

const COLUMNS = ['scenario', 'metric', 'value', 'unit', 'target', 'verdict', 'runs'];

function cells(row) {
  return [row.scenario, row.metric, fmt(row.value), row.unit, row.target ?? '', row.pass === undefined ? '' : row.pass ? 'pass' : 'MISS', String(row.runs ?? '')];
}

function printTable(rows, write = (s) => process.stdout.write(s)) {
  const body = rows.map(cells);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...body.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  write(`${line(COLUMNS)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of body) write(`${line(r)}\n`);
}

function markdownTable(rows) {
  const out = [`| ${COLUMNS.join(' | ')} |`, `|${COLUMNS.map((_, i) => (i === 2 ? '---:' : '---')).join('|')}|`];
  for (const r of rows.map(cells)) out.push(`| ${r.join(' | ')} |`);
  return out.join('\n');
}

module.exports = { printTable, markdownTable, fmt };
