import type { ApnsFailure, ApnsResult } from './types.ts';

/** The outcome of one request, before the retry loop decides what the push's result is. */
export type Attempt =
  | { ok: true; apnsId: string }
  | (Omit<ApnsFailure, 'attempts'> & {
      /** The server never processed the request (refused stream, or above a GOAWAY's last stream): resending cannot duplicate it. */
      unprocessed?: boolean;
      /** Nothing was tried (no usable identity): the push's attempts do not count it. */
      untried?: boolean;
    });

export type AttemptFailure = Extract<Attempt, { ok: false }>;

/** The client's own reasons, beside Apple's. */
export const ClientReason = {
  NoPushCertificate: 'NoPushCertificate',
  ClientClosed: 'ClientClosed',
  ConnectionFailed: 'ConnectionFailed',
  ConnectionLost: 'ConnectionLost',
  ConnectTimeout: 'ConnectTimeout',
  StreamReset: 'StreamReset',
  Timeout: 'Timeout',
  Goaway: 'Goaway',
  BadResponse: 'BadResponse',
  BadCertificate: 'BadCertificate',
  ServerCertificateUntrusted: 'ServerCertificateUntrusted',
  BadDeviceToken: 'BadDeviceToken',
  BadPushMagic: 'BadPushMagic',
} as const;

/**
 * Apple answers 429 for throttling and 5xx for its own trouble: both pass. Every other 4xx
 * describes the request, the token or the certificate, which the same request will not change;
 * IdleTimeout is the exception, a connection-level note that a new connection clears.
 */
export function classifyResponse(status: number, reason: string | undefined, timestamp?: number): AttemptFailure {
  const permanent = status >= 400 && status < 500 && status !== 429 && reason !== 'IdleTimeout';
  return {
    ok: false,
    permanent,
    status,
    reason: reason ?? ClientReason.BadResponse,
    ...(timestamp !== undefined ? { timestamp } : {}),
  };
}

// Verification of APNs's certificate by this client: only a configuration change fixes these.
const SERVER_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

// TLS alerts by which the server refuses our certificate (expired, revoked, unknown issuer).
const CLIENT_CERT_ALERT = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(?:BAD_CERTIFICATE|CERTIFICATE_\w+|UNKNOWN_CA|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)$/;

/** A connection that failed or broke: permanent when TLS says a certificate is wrong, transient otherwise. */
export function classifyConnectionError(err: unknown, fallback: string = ClientReason.ConnectionLost): AttemptFailure {
  const code = errorCode(err);
  if (code && SERVER_TRUST_CODES.has(code)) return { ok: false, permanent: true, reason: ClientReason.ServerCertificateUntrusted, detail: code };
  if (code && CLIENT_CERT_ALERT.test(code)) return { ok: false, permanent: true, reason: ClientReason.BadCertificate, detail: code };
  return { ok: false, permanent: false, reason: fallback, ...(code ? { detail: code } : {}) };
}

// Reasons Apple gives in a GOAWAY (or a 403) when it will not take this certificate at all.
const CERTIFICATE_REASONS = new Set(['BadCertificate', 'BadCertificateEnvironment', 'Forbidden']);

/** A GOAWAY before the connection was usable: permanent when it names a certificate problem. */
export function classifyGoaway(reason: string | undefined): AttemptFailure {
  if (reason && CERTIFICATE_REASONS.has(reason)) return { ok: false, permanent: true, reason };
  return { ok: false, permanent: false, reason: ClientReason.Goaway, ...(reason ? { detail: reason } : {}) };
}

export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

// Apple's answers that mean this token will never take a push for this topic again.
const DEAD_TOKEN_REASONS = new Set(['Unregistered', 'ExpiredToken', 'BadDeviceToken', 'DeviceTokenNotForTopic']);

/**
 * Whether the device's token is dead for this topic: the device unenrolled, reset or enrolled
 * under another push certificate. Other permanent failures (certificate, topic) concern every
 * device alike and say nothing about this one.
 */
export function tokenRejected(result: ApnsResult): boolean {
  return !result.ok && result.permanent && DEAD_TOKEN_REASONS.has(result.reason);
}
