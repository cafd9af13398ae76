import { runCli, runJson, useWorkspace } from './helpers';

/** Terminal columns of `text` for the characters these tests use: CJK ideographs and kana take two. */
function columns(text: string): number {
  let width = 0;
  for (const ch of text) width += /[\u3040-\u30ff\u4e00-\u9fff]/u.test(ch) ? 2 : 1;
  return width;
}

describe('taskbridge task commands: tables and fields a user reads', () => {
  const ws = useWorkspace();

  it('list keeps one line per task and no terminal escape sequence when a type, queue or error holds control characters', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'line\nbreak', '--queue', 'tab\tq']);
    await runCli(['--db', ws.db, 'enqueue', '\u001b[2J\u001b[31mred']);
    const listed = await runCli(['--db', ws.db, 'list']);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2 + 2);
    expect(listed.stdout).not.toContain('\u001b');
    expect(listed.stdout).not.toContain('\t');
    expect(lines[2]).toContain('\\u001b[2J\\u001b[31mred');
    expect(lines[3]).toContain('line\\nbreak');
    expect(lines[3]).toContain('tab\\tq');

    const shown = await runCli(['--db', ws.db, 'show', '2']);
    expect(shown.stdout).not.toContain('\u001b');
    expect(shown.stdout).toMatch(/^type:\s+\\u001b\[2J\\u001b\[31mred$/m);
    // JSON keeps the exact value.
    expect((await runJson<{ task: { type: string } }>(['--db', ws.db, 'show', '1'])).json.task.type).toBe('line\nbreak');
  });

  it('list aligns its columns for names in wide (CJK) characters', async () => {
    await runCli(['--db', ws.db, 'enqueue', 'メール送信', '--queue', '日本']);
    await runCli(['--db', ws.db, 'enqueue', 'mail', '--queue', 'jp']);
    const listed = await runCli(['--db', ws.db, 'list']);
    const lines = listed.stdout.trimEnd().split('\n');
    const header = columns(lines[0]!.slice(0, lines[0]!.indexOf('STATUS')));
    const rows = lines.slice(2).map((line) => columns(line.slice(0, line.indexOf('queued'))));
    expect(rows).toEqual([header, header]);
  });

  it('list shortens a very long type or queue name instead of widening every row to it; show and JSON keep it whole', async () => {
    const long = 't'.repeat(200);
    await runCli(['--db', ws.db, 'enqueue', long, '--queue', 'q'.repeat(200)]);
    const listed = await runCli(['--db', ws.db, 'list']);
    for (const line of listed.stdout.trimEnd().split('\n')) expect(line.length).toBeLessThan(200);
    expect(listed.stdout).toContain(`${'t'.repeat(37)}...`);
    expect((await runCli(['--db', ws.db, 'show', '1'])).stdout).toContain(long);
    expect((await runJson<{ tasks: { type: string }[] }>(['--db', ws.db, 'list'])).json.tasks[0]!.type).toBe(long);
  });
});
