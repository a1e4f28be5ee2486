import type { FailInfoValue } from './constants.ts';

/** A request we answer with a CertRep FAILURE carrying `failInfo`; `reason` goes to the log only. */
export class ScepFailure extends Error {
  constructor(readonly failInfo: FailInfoValue, readonly reason: string) {
    super(reason);
  }
}
