import fs from 'node:fs';
import { parseCapabilities } from '../../src/cli/common';
import { shortenEchoedArgument } from '../../src/cli/commander-echo';
import { parseRequirementArg, parseRunAtArg } from '../../src/cli/enqueue-args';
import { runCli, runJson, useWorkspace } from './helpers';

/** A long value as a user may paste by mistake: far past the 80 characters a refusal shows. */
const LONG = 'x'.repeat(5_000);
/** How a refusal shows a long value: its first 77 characters and `...`, as describeValue cuts it. */
const CUT = `${'x'.repeat(77)}...`;

/**
 * Every refusal names a refused value by its first 80 characters (describeValue). The key=value
 * parsers and `--run-at` put the whole value in their words, and commander put the whole value in
 * its own `argument '...' is invalid` before them, so a pasted 5,000-character value filled the terminal.
 */
describe('taskbridge refuses a long argument showing only its first characters', () => {
  const ws = useWorkspace();

  it.each([
    ['enqueue --requires without =', ['enqueue', 't', '--requires', LONG], '--requires <key=value>', 'expected key=value with a non-empty key, got '],
    ['enqueue --requires with a key given twice', ['enqueue', 't', '--requires', `${LONG}=a`, '--requires', `${LONG}=b`], '--requires <key=value>', 'expected each key once, got '],
    ['enqueue --run-at', ['enqueue', 't', '--run-at', LONG], '--run-at <time>', 'expected an ISO 8601 date-time with a time zone'],
    ['enqueue --payload that is not JSON', ['enqueue', 't', '--payload', LONG], '--payload <json>', 'expected JSON, got '],
    ['worker --capabilities', ['worker', '--handlers', 'handlers.js', '--capabilities', LONG], '--capabilities <k=v,...>', 'expected k=v pairs separated by commas, got '],
  ])('%s: exit 2, stderr names the flag, the value cut short and what is accepted', async (_what, args, flag, accepted) => {
    const result = await runCli(['--db', ws.db, ...args], { cwd: ws.dir });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('x'.repeat(100));
    expect(result.stderr).toContain(`option '${flag}' argument '${CUT}`);
    expect(result.stderr).toContain(accepted);
    expect(result.stderr).toContain('(run with --help for usage)');
    expect(fs.existsSync(ws.db)).toBe(false);
  });

  it('a long task id is cut short too, in the message of a positional argument', async () => {
    const digits = '1'.repeat(5_000);
    const result = await runCli(['--db', ws.db, 'show', digits]);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('1'.repeat(100));
    expect(result.stderr).toContain(`command-argument value '${'1'.repeat(77)}...' is invalid for argument 'id'. expected a numeric task id`);
  });

  it('with --json, the usage error document cuts the value the same way', async () => {
    const result = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, 'enqueue', 't', '--requires', LONG]);
    expect(result.code).toBe(2);
    expect(result.json.error.code).toBe('TASKBRIDGE_USAGE');
    expect(result.json.error.message).toBe(
      `option '--requires <key=value>' argument '${CUT}' is invalid. expected key=value with a non-empty key, got ${JSON.stringify(CUT)}`,
    );
  });
});

describe('the key=value and --run-at parsers name a long value by its first characters', () => {
  it.each([
    ['--requires without =', () => parseRequirementArg(LONG, undefined), /^expected key=value with a non-empty key, got "x{77}\.\.\."$/],
    ['--requires with a key given twice', () => parseRequirementArg(`${LONG}=b`, { [LONG]: LONG }), /^expected each key once, got "x{77}\.\.\." again \(already "x{77}\.\.\."\)$/],
    ['--capabilities', () => parseCapabilities(`a=b,${LONG}`), /^expected k=v pairs separated by commas, got "x{77}\.\.\."$/],
    ['--run-at', () => parseRunAtArg(LONG), /^expected an ISO 8601 date-time .*, got "x{77}\.\.\."$/],
  ])('%s', (_what, parse, message) => {
    expect(parse).toThrow(message);
  });
});

describe('shortenEchoedArgument', () => {
  it("leaves a short value, and commander's other messages, as they are", () => {
    const short = "error: option '--requires <key=value>' argument 'region' is invalid. expected key=value with a non-empty key, got \"region\"\n";
    expect(shortenEchoedArgument(short)).toBe(short);
    expect(shortenEchoedArgument(`error: unknown option '--${LONG}'`)).toBe(`error: unknown option '--${LONG}'`);
  });

  it("cuts a long value holding quotes and new lines, and keeps commander's words after it", () => {
    const value = `it's\n${LONG}`;
    expect(shortenEchoedArgument(`error: option '--run-at <time>' argument '${value}' is invalid. expected a time`)).toBe(
      `error: option '--run-at <time>' argument '${value.slice(0, 77)}...' is invalid. expected a time`,
    );
  });
});
