import crypto from 'node:crypto';

/**
 * TOTP as RFC 6238 fixes it for authenticator apps: HMAC-SHA-1, 6 digits, 30-second steps.
 * Written here with node:crypto rather than taken from npm: it is about twenty lines (RFC 4226's
 * dynamic truncation of an HMAC over the step counter), and a dependency would be more code to trust.
 */
export const TOTP = { digits: 6, stepSeconds: 30, secretBytes: 20, window: 1 } as const;

/** The step a moment falls in: seconds since the epoch over 30. */
export const stepAt = (ms: number) => Math.floor(ms / 1000 / TOTP.stepSeconds);

/** The code for one step (RFC 4226 section 5.3 with the step as the counter); `digits` only for the RFC's 8-digit test vectors. */
export function totpCode(secret: Uint8Array, step: number, digits: number = TOTP.digits): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/**
 * The step whose code this is, trying the current one and one either side (clock drift, and a
 * code typed as it turns over), or null. Every candidate is compared, in constant time, so the
 * answer takes as long whichever matched.
 */
export function matchStep(secret: Uint8Array, code: string, ms: number): number | null {
  if (!new RegExp(`^[0-9]{${TOTP.digits}}$`).test(code)) return null;
  const now = stepAt(ms);
  let found: number | null = null;
  for (let step = now - TOTP.window; step <= now + TOTP.window; step++) {
    if (crypto.timingSafeEqual(Buffer.from(totpCode(secret, step)), Buffer.from(code)) && found === null) found = step;
  }
  return found;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding: how authenticator apps take the secret. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** The otpauth:// URI authenticator apps read from a QR code (Google Authenticator's Key Uri Format). */
export function otpauthUri(o: { issuer: string; account: string; secret: Uint8Array }): string {
  const label = `${encodeURIComponent(o.issuer)}:${encodeURIComponent(o.account)}`;
  const q = new URLSearchParams({ secret: base32(o.secret), issuer: o.issuer, algorithm: 'SHA1', digits: String(TOTP.digits), period: String(TOTP.stepSeconds) });
  return `otpauth://totp/${label}?${q.toString().replace(/\+/g, '%20')}`;
}
