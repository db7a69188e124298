// Exponential backoff with "equal jitter": the n-th retry waits between half
// and all of min(cap, base * 2^n), so a wall of screens reconnecting after a
// server restart does not arrive in lock-step.

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, capMs: 30_000 };

export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exp = Math.min(opts.capMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** Runs `task` until it succeeds, waiting backoffDelay() between failures. */
export async function retryForever<T>(task: () => Promise<T>, label: string): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await task();
    } catch (err) {
      const wait = backoffDelay(attempt);
      console.warn(`${label} failed; retrying in ${wait} ms`, err);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
