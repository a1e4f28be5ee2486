/** RFC 8894 message types, as the PrintableString decimal values carried in the messageType attribute. */
export const MessageType = {
  CertRep: '3',
  RenewalReq: '17',
  PKCSReq: '19',
  CertPoll: '20',
  GetCert: '21',
  GetCRL: '22',
} as const;
export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

export const PkiStatus = { SUCCESS: '0', FAILURE: '2', PENDING: '3' } as const;

export const FailInfo = { badAlg: '0', badMessageCheck: '1', badRequest: '2', badTime: '3', badCertId: '4' } as const;
export type FailInfoValue = (typeof FailInfo)[keyof typeof FailInfo];

export const SCEP_OID = {
  messageType: '2.16.840.1.113733.1.9.2',
  pkiStatus: '2.16.840.1.113733.1.9.3',
  failInfo: '2.16.840.1.113733.1.9.4',
  senderNonce: '2.16.840.1.113733.1.9.5',
  recipientNonce: '2.16.840.1.113733.1.9.6',
  transactionID: '2.16.840.1.113733.1.9.7',
} as const;

export const CMS_OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  challengePassword: '1.2.840.113549.1.9.7',
  extensionRequest: '1.2.840.113549.1.9.14',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaOaep: '1.2.840.113549.1.1.7',
} as const;

export const SHA256_OID = '2.16.840.1.101.3.4.2.1';

/** Content-encryption algorithms accepted in requests: OpenSSL cipher name and key length. */
export const CONTENT_CIPHERS: Record<string, { cipher: string; keyLength: number; des?: true }> = {
  // Single DES exists only in OpenSSL 3's legacy provider; 3DES-EDE with K1=K2=K3 computes the same function.
  '1.3.14.3.2.7': { cipher: 'des-ede3-cbc', keyLength: 8, des: true },
  '1.2.840.113549.3.7': { cipher: 'des-ede3-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.2': { cipher: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { cipher: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { cipher: 'aes-256-cbc', keyLength: 32 },
};
export const AES128_CBC_OID = '2.16.840.1.101.3.4.1.2';

export const CA_CAPS = ['POSTPKIOperation', 'SHA-256', 'SHA-512', 'AES', 'SCEPStandard', 'Renewal'];
