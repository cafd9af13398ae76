import { parseCapabilities } from '../../src/cli/common';
import { parseRequirementArg } from '../../src/cli/enqueue-args';

/**
 * `--capabilities` and `--requires` read a pair by one rule, so a pair typed alike on both sides
 * matches. A plain assignment of `__proto__` sets the prototype instead of a key, so the worker
 * silently offered nothing for it while the task required it: the task was never claimed.
 */
describe('taskbridge --capabilities', () => {
  it('keeps a "__proto__" key as an own capability, as --requires keeps it', () => {
    const offered = parseCapabilities('__proto__=x,gpu=yes');
    expect(Object.keys(offered)).toEqual(['__proto__', 'gpu']);
    const required = parseRequirementArg('gpu=yes', parseRequirementArg('__proto__=x', undefined));
    expect(JSON.stringify(offered)).toBe(JSON.stringify(required));
  });
});
