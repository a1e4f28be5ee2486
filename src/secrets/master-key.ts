import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const KEY_FILE = 'master.key';

/**
 * The key that seals every private key in the database. It lives outside the database (a file
 * in the data dir, or MDM_MASTER_KEY) so a copied database or backup alone reveals no key.
 * Created with O_EXCL so two processes starting at once (server and CLI) agree on one key.
 */
export function loadMasterKey(dataDir: string, fromEnv: Buffer | null): Buffer {
  if (fromEnv) return fromEnv;
  const file = path.join(dataDir, KEY_FILE);
  try {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
      fs.writeSync(fd, crypto.randomBytes(32).toString('base64') + '\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) fs.chmodSync(file, 0o600);
  return key;
}

/** The master key if one is in place (MDM_MASTER_KEY or the key file), without making one. */
export function existingMasterKey(dataDir: string, fromEnv: Buffer | null): Buffer | null {
  if (fromEnv) return fromEnv;
  return fs.existsSync(path.join(dataDir, KEY_FILE)) ? loadMasterKey(dataDir, null) : null;
}
