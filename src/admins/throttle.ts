import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AdminRepo } from './repo.ts';

/** Sign-in throttling: this many failures in the window, per account or per address, lock sign-in out for the rest of it. */
export const LOGIN_MAX_FAILURES = 5;
export const LOGIN_WINDOW_MS = 15 * 60_000;

/**
 * One count of failures for everything that guesses at a credential: passwords, sign-in codes,
 * and the codes that turn two-factor on and off. Counting them together means a guesser cannot
 * get fresh attempts at one by switching to the other.
 */
export function createThrottle(opts: { repo: AdminRepo; log: Logger; now: () => number }) {
  const { repo, log, now } = opts;
  return {
    /** Before anything is checked, so a guesser learns nothing once locked out. AppError login_throttled (429). */
    check(username: string, address: string): void {
      const f = repo.failuresSince(username, address, now() - LOGIN_WINDOW_MS);
      if (f.byUser >= LOGIN_MAX_FAILURES || f.byAddress >= LOGIN_MAX_FAILURES) {
        log.warn({ username, address }, 'sign-in throttled');
        throw new AppError('login_throttled', `Too many failed sign-ins. Try again in ${LOGIN_WINDOW_MS / 60_000} minutes.`, 429);
      }
    },
    fail(username: string, address: string): void {
      repo.recordFailure(username, address, now());
    },
    clear(username: string): void {
      repo.clearFailures(username);
    },
  };
}

export type Throttle = ReturnType<typeof createThrottle>;
