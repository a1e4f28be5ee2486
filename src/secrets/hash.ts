import crypto from 'node:crypto';

/** SHA-256 as hex: how one-time secrets (SCEP challenges, enrollment links, API tokens) are stored, and certificate fingerprints. */
export const sha256Hex = (data: Uint8Array | string): string => crypto.createHash('sha256').update(data).digest('hex');
