import fs from 'node:fs';
import type { Config } from '../../config.ts';

/** The client options that come from settings: APNs's URL and, for a test APNs, its trust roots. */
export function apnsEndpoint(config: Pick<Config, 'apns'>): { url: string; ca?: string } {
  const { url, caFile } = config.apns;
  return caFile ? { url, ca: fs.readFileSync(caFile, 'utf8') } : { url };
}
