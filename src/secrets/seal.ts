import crypto from 'node:crypto';

const VERSION = 1;

export interface Sealer {
  /** AES-256-GCM; `label` is bound as associated data so a sealed blob cannot be moved to another purpose. */
  seal(label: string, plaintext: Uint8Array): Buffer;
  unseal(label: string, sealed: Uint8Array): Buffer;
}

export function createSealer(masterKey: Buffer): Sealer {
  if (masterKey.length !== 32) throw new Error('master key must be 32 bytes');
  return {
    seal(label, plaintext) {
      const iv = crypto.randomBytes(12);
      const c = crypto.createCipheriv('aes-256-gcm', masterKey, iv);
      c.setAAD(Buffer.from(label, 'utf8'));
      const ct = Buffer.concat([c.update(plaintext), c.final()]);
      return Buffer.concat([Buffer.of(VERSION), iv, c.getAuthTag(), ct]);
    },
    unseal(label, sealed) {
      const buf = Buffer.from(sealed);
      if (buf.length < 29 || buf[0] !== VERSION) throw new Error(`sealed secret "${label}" has an unknown format`);
      const d = crypto.createDecipheriv('aes-256-gcm', masterKey, buf.subarray(1, 13));
      d.setAAD(Buffer.from(label, 'utf8'));
      d.setAuthTag(buf.subarray(13, 29));
      try {
        return Buffer.concat([d.update(buf.subarray(29)), d.final()]);
      } catch {
        throw new Error(`sealed secret "${label}" cannot be opened: wrong master key (master.key or MDM_MASTER_KEY)?`);
      }
    },
  };
}
