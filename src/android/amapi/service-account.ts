import crypto from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { describeIssue } from './issues.ts';

/**
 * A Google Cloud service-account key file as the console downloads it. Only what the JWT-bearer
 * grant needs is required; the console's other fields (client_id, auth_uri, the x509 URLs,
 * universe_domain) are accepted and kept, so the sealed key is the file as given.
 */
export const ServiceAccountKey = z.looseObject({
  type: z.literal('service_account', { message: 'must be "service_account" (a service-account key, not an OAuth client or user credential)' }),
  project_id: z.string().min(1).max(100),
  private_key_id: z.string().max(200).optional(),
  private_key: z.string().min(1).max(16 * 1024),
  client_email: z.string().regex(/^[^\s@]+@[^\s@]+$/, 'must be the service account email'),
  token_uri: z.string().refine((s) => URL.canParse(s) && ['https:', 'http:'].includes(new URL(s).protocol), 'must be an http(s) URL'),
});
export type ServiceAccountKey = z.infer<typeof ServiceAccountKey>;

/** Reads and checks a key file's text; the private key must be an RSA key Node can sign with. */
export function parseServiceAccountKey(text: string): ServiceAccountKey {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AppError('android_key_invalid', 'the service-account key is not JSON: give the key file Google Cloud downloaded (IAM > Service accounts > Keys > Add key > JSON)');
  }
  const r = ServiceAccountKey.safeParse(raw);
  if (!r.success) throw new AppError('android_key_invalid', `the service-account key is not usable: ${describeIssue(r.error, 'key')}`);
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(r.data.private_key);
  } catch {
    throw new AppError('android_key_invalid', 'the service-account key is not usable: key.private_key: not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new AppError('android_key_invalid', 'the service-account key is not usable: key.private_key: must be an RSA key (RS256)');
  return r.data;
}
