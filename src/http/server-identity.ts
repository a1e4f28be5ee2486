import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Config } from '../config.ts';
import type { Ca } from '../pki/ca.ts';
import { makeSigner, type Signer } from '../pki/cms.ts';
import { pemBlocks } from '../pki/x509.ts';

export interface ServerIdentity {
  /** Leaf then chain, as the HTTPS listener serves them. */
  certPem: string;
  keyPem: string;
  /** The same identity signs enrollment profiles, so devices see one name for the server. */
  signer: Signer;
  chain: Buffer[];
  /** True when our own CA issued it (devices must be given our root). */
  ownCa: boolean;
}

/**
 * The server's TLS identity: the admin's files (MDM_TLS_CERT/KEY), else one our CA issues for the
 * public host name and loopback. Loaded on first use (an HTTP-only appliance needs it only to sign
 * profiles) and parsed once; `refresh()` picks up new files or a reissued certificate, for a hot swap.
 */
export function createServerIdentity(config: Config, ca: Ca) {
  const load = (): ServerIdentity => {
    const { certPem, keyPem } = config.tls
      ? { certPem: fs.readFileSync(config.tls.certFile, 'utf8'), keyPem: fs.readFileSync(config.tls.keyFile, 'utf8') }
      : ca.tlsIdentity([config.publicHost, 'localhost', '127.0.0.1', '::1']);
    const ders = pemBlocks(certPem, 'CERTIFICATE');
    if (!ders.length) throw new Error(`${config.tls?.certFile ?? 'TLS identity'}: no certificate in the PEM`);
    return { certPem, keyPem, signer: makeSigner(ders[0]!, crypto.createPrivateKey(keyPem)), chain: ders.slice(1), ownCa: !config.tls };
  };
  let current: ServerIdentity | null = null;
  return {
    get: (): ServerIdentity => (current ??= load()),
    /** Reloads; true when the certificate or key changed. */
    refresh(): boolean {
      if (!current) return false;
      const next = load();
      if (next.certPem === current.certPem && next.keyPem === current.keyPem) return false;
      current = next;
      return true;
    },
  };
}
