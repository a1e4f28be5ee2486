export type ExpiryState = 'ok' | 'expiring' | 'critical' | 'expired';

export const DAY_MS = 86_400_000;
export const EXPIRING_DAYS = 30;
export const CRITICAL_DAYS = 7;

export interface Expiry {
  state: ExpiryState;
  /** Whole days left, rounded down as `mdm push show` and the API print them; negative once expired. */
  daysLeft: number;
}

/**
 * The state follows the whole days shown to the admin, so "days left: 30" always reads
 * `expiring` and "days left: 7" `critical`. A certificate is valid through its last second
 * (`notAfter` itself), as the import check has it.
 */
export function expiryOf(notAfter: number, now: number): Expiry {
  const daysLeft = Math.floor((notAfter - now) / DAY_MS);
  if (now > notAfter) return { state: 'expired', daysLeft };
  if (daysLeft <= CRITICAL_DAYS) return { state: 'critical', daysLeft };
  if (daysLeft <= EXPIRING_DAYS) return { state: 'expiring', daysLeft };
  return { state: 'ok', daysLeft };
}
