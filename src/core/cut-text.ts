/**
 * `text` as an error message shows a value: whole up to 80 characters, else its first 77 and `...`.
 * The one rule for every refusal, ours (describeValue) and commander's echo of an argument.
 * Kept out of errors.ts, whose exports are all public.
 */
export function cutText(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
