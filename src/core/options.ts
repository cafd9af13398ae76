import { InvalidOptionError } from './errors';

/**
 * Refuses the first key of `value` that `known` does not hold, naming it `${prefix}${key}`
 * (`'request.'` gives `request.priorty`, `'worker option '` gives `worker option concurency`).
 * Every options object of the package is checked here, so an unknown key reads the same everywhere.
 */
export function refuseUnknownKeys(prefix: string, value: object, known: ReadonlySet<string>): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) {
      throw new InvalidOptionError(`${prefix}${key}`, (value as Record<string, unknown>)[key], `one of the known options: ${[...known].join(', ')}`);
    }
  }
}
