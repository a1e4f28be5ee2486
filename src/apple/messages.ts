import { z } from 'zod';

// The check-in messages and command reports a device sends, validated at the edge. Only what we
// rely on is required: real devices omit keys Apple's schema calls required (an iOS 9 iPad's
// Authenticate has no DeviceName, Model or ModelName).

const data = z.instanceof(Uint8Array).transform((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength));
const channel = {
  UDID: z.string().min(1).optional(),
  EnrollmentID: z.string().min(1).optional(),
  UserID: z.string().min(1).optional(),
  EnrollmentUserID: z.string().min(1).optional(),
  Topic: z.string().min(1).optional(),
};

export const authenticate = z.looseObject({
  MessageType: z.literal('Authenticate'),
  ...channel,
  Topic: z.string().min(1),
  SerialNumber: z.string().optional(),
  DeviceName: z.string().optional(),
  Model: z.string().optional(),
  ModelName: z.string().optional(),
  ProductName: z.string().optional(),
  OSVersion: z.string().optional(),
  BuildVersion: z.string().optional(),
  IMEI: z.string().optional(),
  MEID: z.string().optional(),
});

export const tokenUpdate = z.looseObject({
  MessageType: z.literal('TokenUpdate'),
  ...channel,
  Topic: z.string().min(1),
  Token: data,
  PushMagic: z.string().min(1),
  UnlockToken: data.optional(),
  UserShortName: z.string().optional(),
  UserLongName: z.string().optional(),
  AwaitingConfiguration: z.boolean().optional(),
});

export const checkOut = z.looseObject({ MessageType: z.literal('CheckOut'), ...channel });
export const setBootstrapToken = z.looseObject({ MessageType: z.literal('SetBootstrapToken'), ...channel, BootstrapToken: data.optional() });
export const getBootstrapToken = z.looseObject({ MessageType: z.literal('GetBootstrapToken'), ...channel });
export const declarativeManagement = z.looseObject({ MessageType: z.literal('DeclarativeManagement'), ...channel, Endpoint: z.string(), Data: data.optional() });
export const userAuthenticate = z.looseObject({ MessageType: z.literal('UserAuthenticate'), ...channel });
export const getToken = z.looseObject({ MessageType: z.literal('GetToken'), ...channel });

export const checkinMessage = z.discriminatedUnion('MessageType', [
  authenticate,
  tokenUpdate,
  checkOut,
  setBootstrapToken,
  getBootstrapToken,
  declarativeManagement,
  userAuthenticate,
  getToken,
]);
export type CheckinMessage = z.output<typeof checkinMessage>;

export const commandReport = z.looseObject({
  ...channel,
  Status: z.enum(['Idle', 'Acknowledged', 'Error', 'CommandFormatError', 'NotNow']),
  CommandUUID: z.string().min(1).optional(),
  ErrorChain: z.array(z.looseObject({})).optional(),
});
export type CommandReport = z.output<typeof commandReport>;

export interface ChannelIds {
  UDID?: string;
  EnrollmentID?: string;
  UserID?: string;
  EnrollmentUserID?: string;
}

export type EnrollmentType = 'device' | 'user' | 'user-enrollment-device' | 'user-enrollment-user';

/**
 * The enrollment a message speaks for, as NanoMDM names them: UDID for a device channel,
 * UDID:UserID for a user channel, EnrollmentID (and EnrollmentID:EnrollmentUserID) for User
 * Enrollment. Null when the message names no device.
 */
export function enrollmentOf(m: ChannelIds): { id: string; type: EnrollmentType; deviceId: string } | null {
  if (m.UDID) {
    return m.UserID ? { id: `${m.UDID}:${m.UserID}`, type: 'user', deviceId: m.UDID } : { id: m.UDID, type: 'device', deviceId: m.UDID };
  }
  if (m.EnrollmentID) {
    return m.EnrollmentUserID
      ? { id: `${m.EnrollmentID}:${m.EnrollmentUserID}`, type: 'user-enrollment-user', deviceId: m.EnrollmentID }
      : { id: m.EnrollmentID, type: 'user-enrollment-device', deviceId: m.EnrollmentID };
  }
  return null;
}
