import { cutText } from '../core/cut-text';

/**
 * Commander's own refusal of an argument, as it words it before our parser's message:
 * `error: option '<flags>' argument '<value>' is invalid. ...` for an option and
 * `error: command-argument value '<value>' is invalid for argument '<name>'.` for a positional one.
 * The value is matched up to the first closing marker: one holding the marker itself is cut there,
 * which at worst leaves the rest of that value in the message, as before.
 */
const ECHOES = [
  /^(error: option '[^']*' argument ')([\s\S]*?)(' is invalid\.)/,
  /^(error: command-argument value ')([\s\S]*?)(' is invalid for argument ')/,
];

/**
 * Commander's message for a refused argument with the value cut by the rule every other refusal
 * follows ({@link cutText}: the first 77 characters and `...` past 80), so a 5,000-character
 * `--requires` is not printed whole. Commander writes the value itself into the message before our
 * parser's words, and offers no hook between the two; any other message is returned as it is.
 * @param message a message commander wrote or threw (with or without the trailing newline)
 */
export function shortenEchoedArgument(message: string): string {
  for (const echo of ECHOES) {
    const m = echo.exec(message);
    // Commander quotes the value with ' itself, so it is cut but not quoted again as describeValue would.
    if (m !== null) return `${m[1]}${cutText(m[2]!)}${m[3]}${message.slice(m[0].length)}`;
  }
  return message;
}
