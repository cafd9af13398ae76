import { InvalidInputError, TaskbridgeError, describeThrown } from './errors';

const ACCEPTED = 'plain JSON data (objects, arrays, strings, finite numbers, booleans, null, Date; an object key set to undefined is left out); no functions, cycles, BigInt, symbols or class instances';

/**
 * Checks that `value` is plain JSON data (Dates allowed, serialised as ISO strings).
 * @param field the name used in the error message, e.g. `parameters` or `payload`
 * @throws InvalidInputError naming the offending path, e.g. `parameters.a.b` (the field itself when
 *   a getter or Proxy trap throws while it is read)
 */
export function assertPlainJson(field: string, value: unknown): void {
  const seen = new Set<object>();
  const visit = (path: string, v: unknown): void => {
    if (v === null) return;
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) throw new InvalidInputError(path, v, ACCEPTED);
        return;
      case 'object':
        break;
      default:
        throw new InvalidInputError(path, v, ACCEPTED);
    }
    const obj = v as object;
    if (obj instanceof Date) {
      if (Number.isNaN(obj.getTime())) throw new InvalidInputError(path, 'Invalid Date', ACCEPTED);
      return;
    }
    if (seen.has(obj)) throw new InvalidInputError(path, '[circular reference]', ACCEPTED);
    const proto = Object.getPrototypeOf(obj);
    const isArray = Array.isArray(obj);
    if (!isArray && proto !== Object.prototype && proto !== null) {
      throw new InvalidInputError(path, `[instance of ${obj.constructor?.name ?? 'unknown class'}]`, ACCEPTED);
    }
    seen.add(obj);
    if (isArray) {
      (obj as unknown[]).forEach((item, i) => visit(`${path}[${i}]`, item));
    } else {
      for (const key of Object.keys(obj)) {
        const item = (obj as Record<string, unknown>)[key];
        // A key set to undefined is absent in JSON, and reads back as undefined either way; legacy
        // code writes `{ since: opts.since }` freely. In an array it would turn into null: refused.
        if (item !== undefined) visit(`${path}.${key}`, item);
      }
      if (Object.getOwnPropertySymbols(obj).length > 0) throw new InvalidInputError(path, '[symbol keys]', ACCEPTED);
    }
    seen.delete(obj);
  };
  try {
    visit(field, value);
  } catch (err) {
    if (err instanceof TaskbridgeError) throw err;
    // Reading every property runs getters and Proxy traps; one that throws is bad input like any
    // other, not a raw error with no field (startTask parameters, enqueue payloads, handler results).
    throw new InvalidInputError(field, `[unreadable: ${describeThrown(err)}]`, 'plain JSON data whose properties can be read (a getter or Proxy trap threw)');
  }
}
