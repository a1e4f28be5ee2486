import { spawnSync } from 'node:child_process';

/**
 * Real third-party peers (scepclient, openssl, ...). Missing one skips the test loudly, unless
 * MDM_REQUIRE_PEERS=1 (CI), where it fails.
 */
export function peer(command: string, versionArgs: string[] = ['-version']): { ok: true } | { ok: false; reason: string } {
  const r = spawnSync(command, versionArgs, { stdio: 'ignore' });
  if (!r.error) return { ok: true };
  const reason = `peer "${command}" is not installed (apt-get install -y ${PACKAGES[command] ?? command})`;
  if (process.env.MDM_REQUIRE_PEERS === '1') throw new Error(`${reason}; MDM_REQUIRE_PEERS=1 makes this a failure`);
  process.stderr.write(`\n!!! SKIPPING: ${reason} !!!\n\n`);
  return { ok: false, reason };
}

const PACKAGES: Record<string, string> = { scepclient: 'scep', scepserver: 'scep', openssl: 'openssl', plistutil: 'libplist-utils', chromium: 'chromium' };
