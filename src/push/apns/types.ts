/** What the client pushes with: the push certificate, its key and the topic (the certificate's UID). */
export interface ApnsIdentity {
  certPem: string;
  keyPem: string;
  topic: string;
}

/** One MDM wake-up: the device's token and PushMagic from its TokenUpdate. */
export interface ApnsPush {
  /** The device token as hex (64 characters for real devices). */
  token: string;
  pushMagic: string;
  /** `apns-expiration` in Unix seconds (0: deliver now or never); the client's ttlSeconds when absent. */
  expiration?: number;
}

export type ApnsResult =
  | { ok: true; status: 200; apnsId: string; attempts: number }
  | {
      ok: false;
      /** Retrying the same push will not help: the token, topic or certificate is wrong (or there is no certificate). */
      permanent: boolean;
      /** The HTTP status when APNs answered; absent for connection-level failures. */
      status?: number;
      /** APNs's reason (Unregistered, BadDeviceToken, TooManyRequests, ...) or the client's own (NoPushCertificate, ClientClosed, ConnectionLost, ...). */
      reason: string;
      /** Requests sent for this push (0 when it was refused before sending). */
      attempts: number;
      /** For 410: when APNs learnt the token was no longer valid (ms since the epoch). */
      timestamp?: number;
      /** The network or TLS error code behind a connection-level failure. */
      detail?: string;
    };

export type ApnsFailure = Extract<ApnsResult, { ok: false }>;
