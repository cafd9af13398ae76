import fs from 'node:fs';
import path from 'node:path';
import { digest, runCli, runJson, useWorkspace } from './helpers';

interface TaskJson {
  id: number;
  payload: unknown;
}

/** The store's payload limit (DEFAULT_MAX_PAYLOAD_BYTES), which the CLI's store uses. */
const LIMIT = 1024 * 1024;

describe('taskbridge enqueue --payload-file', () => {
  const ws = useWorkspace();

  it('reads the payload from a file, and from stdin for -; show and list --json have it', async () => {
    const file = path.join(ws.dir, 'payload.json');
    fs.writeFileSync(file, '{\n  "to": "a@example.com",\n  "tags": ["x", "é"]\n}\n');
    const fromFile = await runJson<{ created: boolean; task: TaskJson }>(['--db', ws.db, 'enqueue', 'email', '--payload-file', file]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.json.task.payload).toEqual({ to: 'a@example.com', tags: ['x', 'é'] });

    const fromStdin = await runCli(['--db', ws.db, 'enqueue', 'email', '--payload-file', '-'], { input: '[1, 2, 3]' });
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toMatch(/^enqueued task 2 /);

    const shown = await runCli(['--db', ws.db, 'show', '1']);
    expect(shown.stdout).toMatch(/^payload:\s+\{"to":"a@example.com","tags":\["x","é"\]\}$/m);
    const listed = await runJson<{ tasks: TaskJson[] }>(['--db', ws.db, 'list']);
    expect(listed.json.tasks.map((t) => t.payload)).toEqual([[1, 2, 3], { to: 'a@example.com', tags: ['x', 'é'] }]);
  });

  it('a file of exactly the payload limit is accepted, and a UTF-8 byte order mark is skipped', async () => {
    const file = path.join(ws.dir, 'edge.json');
    const text = JSON.stringify('x'.repeat(LIMIT - 2));
    expect(Buffer.byteLength(text)).toBe(LIMIT);
    fs.writeFileSync(file, text);
    expect((await runCli(['--db', ws.db, 'enqueue', 'big', '--payload-file', file])).code).toBe(0);

    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"bom":true}')]));
    const bom = await runJson<{ task: TaskJson }>(['--db', ws.db, 'enqueue', 'bom', '--payload-file', file]);
    expect(bom.code).toBe(0);
    expect(bom.json.task.payload).toEqual({ bom: true });
  });

  // Each case: the arguments after `enqueue t`, stdin, and the reason the message gives.
  const refusals: [string, (dir: string) => { args: string[]; input?: string | Buffer; value: string }, RegExp][] = [
    ['with --payload too', (dir) => ({ args: ['--payload', '{}', '--payload-file', write(dir, 'p.json', '{}')], value: path.join(dir, 'p.json') }), /accepted: either --payload or --payload-file, not both/],
    ['an empty file', (dir) => ({ args: ['--payload-file', write(dir, 'empty.json', '')], value: path.join(dir, 'empty.json') }), /; it is empty$/],
    ['a file of blanks only', (dir) => ({ args: ['--payload-file', write(dir, 'blank.json', ' \n\t\n')], value: path.join(dir, 'blank.json') }), /; it is empty$/],
    ['empty stdin', () => ({ args: ['--payload-file', '-'], input: '', value: '-' }), /; it is empty$/],
    ['a file that is not JSON', (dir) => ({ args: ['--payload-file', write(dir, 'bad.json', '{to: 1}')], value: path.join(dir, 'bad.json') }), /; it is not JSON \(.+\)$/],
    ['stdin that is not JSON', () => ({ args: ['--payload-file', '-'], input: 'hello', value: '-' }), /; it is not JSON \(.+\)$/],
    ['a file that is not UTF-8', (dir) => ({ args: ['--payload-file', write(dir, 'latin1.json', Buffer.from([0x22, 0xe9, 0x22]))], value: path.join(dir, 'latin1.json') }), /; it is not UTF-8 text$/],
    ['a missing file', (dir) => ({ args: ['--payload-file', path.join(dir, 'nope.json')], value: path.join(dir, 'nope.json') }), /; there is no such file$/],
    ['a folder', (dir) => ({ args: ['--payload-file', dir], value: dir }), /; it is a folder$/],
    ['a file one byte over the limit', (dir) => ({ args: ['--payload-file', write(dir, 'big.json', JSON.stringify('x'.repeat(LIMIT - 1)))], value: path.join(dir, 'big.json') }), new RegExp(`; it holds ${LIMIT + 1} bytes$`)],
    ['stdin over the limit', () => ({ args: ['--payload-file', '-'], input: JSON.stringify('x'.repeat(LIMIT)), value: '-' }), new RegExp(`; it holds more than ${LIMIT} bytes$`)],
    ['a file whose JSON grows past the limit as stored', (dir) => ({ args: ['--payload-file', write(dir, 'numbers.json', `[${Array(200_000).fill('1e21').join(',')}]`)], value: path.join(dir, 'numbers.json') }), /; its JSON takes \d+ bytes as stored$/],
  ];

  it.each(refusals)('refuses %s: exit 2, a typed error naming --payload-file, the value and what is accepted; no database is created', async (_what, build, reason) => {
    const { args, input, value } = build(ws.dir);
    const text = await runCli(['--db', ws.db, 'enqueue', 't', ...args], { input });
    expect(text.code).toBe(2);
    expect(text.stdout).toBe('');
    const message = text.stderr.trim().replace(/^taskbridge: usage error: /, '');
    expect(message).toContain(`Invalid --payload-file: ${JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)}; accepted: `);
    expect(message).toMatch(reason);
    if (!/not both/.test(message)) expect(message).toContain(`of at most ${LIMIT} bytes`);

    const json = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, 'enqueue', 't', ...args], { input });
    expect(json.code).toBe(2);
    expect(json.json.error).toEqual({ code: 'TASKBRIDGE_INVALID_OPTION', message });
    expect(fs.existsSync(ws.db)).toBe(false);
  });

  it('a refused payload file leaves an existing database as it was', async () => {
    expect((await runCli(['--db', ws.db, 'enqueue', 'first', '--payload', '{"n":1}'])).code).toBe(0);
    const before = digest(ws.db);
    for (const args of [['--payload-file', write(ws.dir, 'bad.json', 'nope')], ['--payload-file', '-'], ['--payload', '1', '--payload-file', '-']]) {
      const result = await runCli(['--db', ws.db, 'enqueue', 'second', ...args], { input: '' });
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
    }
    expect(digest(ws.db)).toBe(before);
    const listed = await runJson<{ tasks: TaskJson[] }>(['--db', ws.db, 'list']);
    expect(listed.json.tasks.map((t) => [t.id, t.payload])).toEqual([[1, { n: 1 }]]);
  });

  it('a blank --payload-file is bad usage, as a blank --db is', async () => {
    const result = await runCli(['--db', ws.db, 'enqueue', 't', '--payload-file', ' ']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/option '--payload-file <path>' argument ' ' is invalid\. expected a file path, or - for stdin, got " "/);
    expect(fs.existsSync(ws.db)).toBe(false);
  });
});

function write(dir: string, name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}
