import type { ChildProcess } from 'node:child_process';

/** Resolves with the first IPC message from `child` that `accept` takes; rejects if the child exits first. */
export function nextMessage<T>(child: ChildProcess, accept: (m: unknown) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (!accept(m)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null, signal: string | null): void =>
      reject(new Error(`child exited (${code ?? signal}) before sending the expected message`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
