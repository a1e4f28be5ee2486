export interface BackoffPolicy {
  /** The first retry waits about this long (ms); each further one twice as long. */
  baseMs: number;
  /** No wait is longer than this (ms). */
  capMs: number;
}

/**
 * The wait before retry number `retry` (1 for the first): exponential, capped, with "equal
 * jitter" (half fixed, half random) so that thousands of pushes failed by one 503 do not come
 * back in one burst, while every wait still grows with the retry count.
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Timers that close() can cut short, so that a closing client does not wait out every backoff. */
export function createDelays() {
  const pending = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  let cancelled = false;
  return {
    wait(ms: number): Promise<void> {
      if (cancelled) return Promise.resolve();
      return new Promise((resolve) => {
        const entry = {
          resolve,
          timer: setTimeout(() => {
            pending.delete(entry);
            resolve();
          }, ms),
        };
        pending.add(entry);
      });
    },
    cancelAll(): void {
      cancelled = true;
      for (const e of pending) {
        clearTimeout(e.timer);
        e.resolve();
      }
      pending.clear();
    },
  };
}
