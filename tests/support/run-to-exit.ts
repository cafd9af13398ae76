import { spawn } from 'node:child_process';

/** How a script run by {@link runToExit} ended. */
export interface ExitOutcome {
  readonly code: number | null;
  /** True when it was still running after the bound and was killed. */
  readonly hung: boolean;
  readonly stdout: string;
}

/**
 * Runs a Node script (unhandled rejections fatal) and resolves with its exit code and stdout, or
 * kills it after `ms`: only a bound against a hang, since a process that exits does so long before
 * it on any machine.
 */
export function runToExit(script: string, args: readonly string[], ms: number): Promise<ExitOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--unhandled-rejections=strict', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let hung = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', () => undefined);
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, hung, stdout });
    });
  });
}
