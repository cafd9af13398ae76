import { BackgroundTaskManager, MemoryRunExecutor, RunRegistry } from '../../src/manager';
import { makeRun } from '../contract/legacy-app.helpers';

/** An Error whose `message` (and `name`) a library set to something that is not a string. */
function oddError(message: unknown, name?: unknown): Error {
  const error = new Error('placeholder');
  Object.defineProperty(error, 'message', { value: message });
  if (name !== undefined) Object.defineProperty(error, 'name', { value: name });
  return error;
}

describe('a run whose work throws an Error with a message that is not a string', () => {
  it.each([
    ['a number', oddError(42), '42'],
    ['an object', oddError({ code: 'E1' }), '{"code":"E1"}'],
    ['empty, with a non-string name', oddError('', 7), 'Error'],
    ['null, with a name', oddError(null, 'TimeoutError'), 'TimeoutError'],
  ])('%s: the registry records errorMessage as text', async (_name, thrown, expected) => {
    const registry = new RunRegistry();
    const manager = new BackgroundTaskManager(registry, { executor: new MemoryRunExecutor(registry) });
    const run = makeRun('odd-message');
    manager.startTask(run, async () => {
      throw thrown;
    });
    await manager.waitAll();
    expect(registry.getRun(run.runId)).toMatchObject({ status: 'failed', errorMessage: expected });
    expect(typeof registry.getRun(run.runId)?.errorMessage).toBe('string');
  });
});
