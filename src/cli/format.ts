/** Human-readable rendering for the CLI: aligned tables, durations, sizes, instants. */

/**
 * Renders rows as an aligned plain-text table with a header line. Numbers are right-aligned.
 * Cells are {@link printable} and aligned by terminal columns, not UTF-16 units.
 */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((row) => headers.map((_, i) => printable(cell(row[i]))));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...cells.map((r) => displayWidth(r[i]!))));
  const render = (values: readonly string[], header: boolean): string =>
    values
      .map((v, i) => {
        const fill = ' '.repeat(Math.max(0, widths[i]! - displayWidth(v)));
        return numeric[i] && !header ? fill + v : v + fill;
      })
      .join('  ')
      .trimEnd();
  const lines = [render(headers, true), render(widths.map((w) => '-'.repeat(w)), true), ...cells.map((r) => render(r, false))];
  return lines.join('\n');
}

/**
 * Renders `key: value` pairs with the keys aligned. A value's own line breaks continue under the
 * value column; every other control character is {@link printable}.
 */
export function keyValues(pairs: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  const indent = `\n${' '.repeat(width + 2)}`;
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${cell(v).split(/\r\n|\n|\r/).map(printable).join(indent)}`).join('\n');
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return formatInstant(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// Stored text comes from any producer: a newline would break a table row, ESC starts a terminal
// control sequence (clear the screen, rewrite the title), a bidi control reorders what follows.
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every character a terminal would act on written as an escape (`\n`, `\t`, `\u001b`), so it is shown, never obeyed. */
function printable(text: string): string {
  return text.replace(UNPRINTABLE, (ch) => SHORT_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cf}]/u;
// East Asian Wide and Fullwidth blocks, and emoji shown as pictures: two terminal columns each.
const WIDE =
  /[\p{Emoji_Presentation}\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]/u;

/** Terminal columns `text` takes: 2 for wide (CJK) characters and emoji, 0 for combining marks. */
function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += ZERO_WIDTH.test(ch) ? 0 : WIDE.test(ch) ? 2 : 1;
  return width;
}

/** An instant as ISO 8601 UTC without milliseconds, e.g. `2026-01-01T12:00:00Z`. */
export function formatInstant(value: Date | null | undefined): string {
  if (!value) return '-';
  return value.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A duration in ms as a short human string: `850ms`, `12.3s`, `4m 05s`, `2h 10m`, `3d 4h`. */
export function formatDuration(msValue: number | null | undefined): string {
  if (msValue === null || msValue === undefined || !Number.isFinite(msValue)) return '-';
  const ms = Math.max(0, Math.round(msValue));
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** A byte count with a binary unit: `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A ratio 0..1 as a percentage with one decimal, e.g. `12.5%`. */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '-';
  return `${(ratio * 100).toFixed(1)}%`;
}

/** Shortens a text for a table cell to at most `max` terminal columns, ending in `...` when cut. */
export function truncate(text: string | null | undefined, max = 60): string {
  if (text === null || text === undefined) return '-';
  const shown = printable(text);
  if (displayWidth(shown) <= max) return shown;
  let kept = '';
  let width = 0;
  for (const ch of shown) {
    const w = displayWidth(ch);
    if (width + w > max - 3) break;
    kept += ch;
    width += w;
  }
  return `${kept}...`;
}
