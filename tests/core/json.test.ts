import { assertPlainJson } from '../../src/core/json';
import { InvalidInputError } from '../../src/core/errors';

describe('assertPlainJson', () => {
  it('accepts plain data and Dates', () => {
    expect(() =>
      assertPlainJson('parameters', { a: 1, b: 'x', c: [true, null, { d: new Date(0) }], e: Object.create(null) }),
    ).not.toThrow();
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(() => assertPlainJson('parameters', { a: shared, b: shared })).not.toThrow();
  });

  class Money {
    constructor(readonly cents: number) {}
  }
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;

  it.each([
    ['a function', { fn: () => 1 }, 'parameters.fn'],
    ['a cycle', cyclic, 'parameters.self'],
    ['a BigInt', { n: BigInt(1) }, 'parameters.n'],
    ['a class instance', { m: new Money(5) }, 'parameters.m'],
    ['a symbol', { s: Symbol('x') }, 'parameters.s'],
    ['NaN', { n: Number.NaN }, 'parameters.n'],
    ['undefined in an array', [undefined], 'parameters[0]'],
    ['a Map', { m: new Map() }, 'parameters.m'],
  ])('refuses %s and names the path', (_label, value, path) => {
    let caught: unknown;
    try {
      assertPlainJson('parameters', value);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as InvalidInputError).field).toBe(path);
    expect((caught as Error).message).toContain('accepted: plain JSON data');
  });
});

describe('describeValue', () => {
  it('renders an invalid Date without throwing', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { describeValue } = require('../../src/core/errors') as typeof import('../../src/core/errors');
    expect(describeValue(new Date('x'))).toBe('Invalid Date');
    expect(describeValue(new Date(0))).toBe('Date(1970-01-01T00:00:00.000Z)');
    expect(describeValue(BigInt(5))).toBe('5n');
  });

  it('names NaN and the infinities as themselves, not as the null JSON would write', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { describeValue, describeThrown, InvalidInputError } = require('../../src/core/errors') as typeof import('../../src/core/errors');
    expect([Number.NaN, Infinity, -Infinity, -1.5].map(describeValue)).toEqual(['NaN', 'Infinity', '-Infinity', '-1.5']);
    expect(new InvalidInputError('parameters.x', Infinity, 'finite numbers').message).toBe('Invalid parameters.x: Infinity; accepted: finite numbers');
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(describeThrown(proxy)).toMatch(/unreadable object/);
  });
});
