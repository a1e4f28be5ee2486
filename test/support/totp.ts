// An authenticator app for tests: reads the base32 key a setup page shows and makes codes for
// steps no earlier than the last one it used, as a person waiting for the next code would.
import assert from 'node:assert/strict';
import { stepAt, totpCode, TOTP } from '../../src/admins/totp.ts';

export function fromBase32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of text.replace(/=+$/, '')) {
    const i = alphabet.indexOf(ch);
    assert.ok(i >= 0, `base32 character ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export class Authenticator {
  private last = -Infinity;
  constructor(readonly secret: Buffer, private readonly now: () => number = Date.now) {}

  static fromPage(html: string, now?: () => number) {
    const key = /data-testid="totp-secret">([A-Z2-7]+)</.exec(html)?.[1];
    assert.ok(key, 'the setup page shows the key');
    return new Authenticator(fromBase32(key), now);
  }

  /** A code the server's ±1 step window accepts and that was not used yet: the earliest such step. */
  next(): string {
    const step = this.nextStep();
    this.last = step;
    return totpCode(this.secret, step);
  }

  /** What `next` would give, without using it up: for requests that must be refused before the code is read. */
  peek(): string {
    return totpCode(this.secret, this.nextStep());
  }

  private nextStep(): number {
    const current = stepAt(this.now());
    const step = Math.max(this.last + 1, current - TOTP.window);
    assert.ok(step <= current + TOTP.window, 'an unused code is left in the window');
    return step;
  }

  /** The code last handed out, again: what a replay sends. */
  again(): string {
    return totpCode(this.secret, this.last);
  }

  /** A code of this secret that no step in the current window has: a wrong guess. */
  wrong(): string {
    const current = stepAt(this.now());
    const valid = new Set([-1, 0, 1].map((d) => totpCode(this.secret, current + d)));
    for (let d = 10; ; d++) if (!valid.has(totpCode(this.secret, current + d))) return totpCode(this.secret, current + d);
  }
}
