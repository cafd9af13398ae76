/**
 * Resolves once `arm`'s callback is called or `timeoutMs` has passed, whichever comes first, and
 * clears the timer either way. The timer is ref'd on purpose: callers use it for a shutdown
 * deadline, during which the process must stay up to finish what it is waiting for.
 */
export async function untilDoneOrTimeout(arm: (done: () => void) => void, timeoutMs: number): Promise<void> {
  let deadline: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    deadline = setTimeout(resolve, timeoutMs);
    arm(resolve);
  });
  clearTimeout(deadline);
}
