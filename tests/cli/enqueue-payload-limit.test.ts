import fs from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { parsePayloadArg } from '../../src/cli/enqueue-args';
import { run } from '../../src/cli/program';
import { InvalidOptionError } from '../../src/core/errors';
import { digest, runCli, runJson, useWorkspace } from './helpers';

/** The store's payload limit (DEFAULT_MAX_PAYLOAD_BYTES), which the CLI's store uses. */
const LIMIT = 1024 * 1024;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in this process through `run`, the function bin/main hands `process.argv` to. Linux
 * refuses to start a process with one argument of 128 KiB or more (E2BIG), below the 1 MiB limit,
 * so a spawned `taskbridge` cannot be given an oversized `--payload` here; everything after the
 * kernel (commander, the command, the exit code, stderr and the --json error document) is the same.
 */
async function runInProcess(args: readonly string[]): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true));
  try {
    const code = await run([process.execPath, 'taskbridge', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('taskbridge enqueue --payload over the payload limit', () => {
  const ws = useWorkspace();
  const logLevel = process.env.TASKBRIDGE_LOG_LEVEL;
  beforeAll(() => {
    process.env.TASKBRIDGE_LOG_LEVEL = 'error';
  });
  afterAll(() => {
    if (logLevel === undefined) delete process.env.TASKBRIDGE_LOG_LEVEL;
    else process.env.TASKBRIDGE_LOG_LEVEL = logLevel;
  });

  // Each case: the --payload text and the size its compact JSON takes as stored.
  const oversized: [string, string, number][] = [
    ['a string one byte over', JSON.stringify('x'.repeat(LIMIT - 1)), LIMIT + 1],
    // 1e21 is written back as 1e+21: under the limit as typed, over it as stored.
    ['numbers that grow as stored', `[${Array(200_000).fill('1e21').join(',')}]`, 200_000 * 6 + 1],
  ];

  it.each(oversized)('refuses %s: exit 2, a typed error naming --payload, the value cut short and what is accepted; no database is created', async (_what, value, stored) => {
    expect(Buffer.byteLength(value)).toBeLessThanOrEqual(stored);
    const text = await runInProcess(['--db', ws.db, 'enqueue', 't', '--payload', value]);
    expect(text.code).toBe(2);
    expect(text.stdout).toBe('');
    const message = text.stderr.trim().replace(/^taskbridge: usage error: /, '');
    expect(message).toBe(
      `Invalid --payload: ${JSON.stringify(`${value.slice(0, 77)}...`)}; accepted: one JSON value taking at most ${LIMIT} bytes as stored (compact JSON in UTF-8, the store's payload limit); its JSON takes ${stored} bytes as stored`,
    );

    const json = await runInProcess(['--db', ws.db, 'enqueue', 't', '--payload', value, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'TASKBRIDGE_INVALID_OPTION', message } });
    expect(fs.existsSync(ws.db)).toBe(false);
  });

  it('an oversized --payload leaves an existing database as it was', async () => {
    expect((await runCli(['--db', ws.db, 'enqueue', 'first', '--payload', '{"n":1}'])).code).toBe(0);
    const before = digest(ws.db);
    const refused = await runInProcess(['--db', ws.db, 'enqueue', 'second', '--payload', JSON.stringify('x'.repeat(LIMIT))]);
    expect(refused.code).toBe(2);
    expect(digest(ws.db)).toBe(before);
    const listed = await runJson<{ tasks: { id: number; payload: unknown }[] }>(['--db', ws.db, 'list']);
    expect(listed.json.tasks.map((t) => [t.id, t.payload])).toEqual([[1, { n: 1 }]]);
  });

  it('a --payload of exactly the limit as stored is accepted and stored whole', async () => {
    const payload = 'x'.repeat(LIMIT - 2);
    const accepted = await runInProcess(['--db', ws.db, 'enqueue', 'big', '--payload', JSON.stringify(payload), '--json']);
    expect(accepted.code).toBe(0);
    expect((JSON.parse(accepted.stdout) as { task: { payload: unknown } }).task.payload).toBe(payload);
  });

  it('a spawned taskbridge stores a --payload as large as one argument may be', async () => {
    // Under Linux's 128 KiB cap on one argument, with blanks the store drops.
    const payload = { text: 'é'.repeat(60_000) };
    const enqueued = await runJson<{ task: { id: number; payload: unknown } }>(['--db', ws.db, 'enqueue', 'big', '--payload', JSON.stringify(payload, null, 2)]);
    expect(enqueued.code).toBe(0);
    const shown = await runJson<{ task: { payload: unknown } }>(['--db', ws.db, 'show', String(enqueued.json.task.id)]);
    expect(shown.json.task.payload).toEqual(payload);
  });
});

describe('parsePayloadArg, the parser of --payload', () => {
  it('returns the value of JSON up to the limit as stored, blanks not counted', () => {
    expect(parsePayloadArg(JSON.stringify('x'.repeat(LIMIT - 2)))).toBe('x'.repeat(LIMIT - 2));
    // Over the limit as typed, under it as the store keeps it: the store would take it, so the CLI does.
    const padded = `[${' '.repeat(LIMIT)}1]`;
    expect(parsePayloadArg(padded)).toEqual([1]);
  });

  it('refuses JSON over the limit as stored with an InvalidOptionError naming --payload, the value and the size', () => {
    const value = JSON.stringify('é'.repeat(LIMIT / 2));
    let error: unknown;
    try {
      parsePayloadArg(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ code: 'TASKBRIDGE_INVALID_OPTION', field: '--payload', value });
    expect((error as InvalidOptionError).accepted).toMatch(new RegExp(`at most ${LIMIT} bytes as stored .*; its JSON takes ${LIMIT + 2} bytes as stored$`));
  });

  it("still reports text that is not JSON as commander's invalid argument", () => {
    expect(() => parsePayloadArg('{to: 1}')).toThrow(InvalidArgumentError);
  });

  it('names a long value that is not JSON by its first characters: commander already prints it whole', () => {
    const value = `{"text": "${'x'.repeat(5_000)}`;
    expect(() => parsePayloadArg(value)).toThrow(/^expected JSON, got "\{\\"text\\": \\"x+\.\.\." \(/);
    expect(() => parsePayloadArg(value)).not.toThrow(/x{100}/);
  });
});
