import { commandSpec } from './catalog.ts';
import type { OsSupport, Platform } from './types.ts';

/** What is known of a device and its enrollment; a fact left undefined is not checked. */
export interface DeviceFacts {
  platform: Platform;
  /** As the device reports it (OSVersion), e.g. "17.4.1". */
  osVersion?: string;
  channel: 'device' | 'user';
  userEnrollment?: boolean;
  supervised?: boolean;
  /** The enrollment profile's AccessRights. */
  accessRights?: number;
  sharedIPad?: boolean;
  enrolledViaDEP?: boolean;
}

/**
 * Why a command cannot run on this device and channel, per Apple's schema for it, or null when
 * nothing known stands in the way. AppError unknown_request_type for a RequestType Apple does not define.
 */
export function checkSupport(requestType: string, device: DeviceFacts): string | null {
  const spec = commandSpec(requestType);
  const os: OsSupport | undefined = spec.supportedOS[device.platform];
  const name = spec.requestType;
  if (!os) return `${name} is not available on ${device.platform}`;

  const version = device.osVersion === undefined ? undefined : /^\d+(?:\.\d+)*/.exec(device.osVersion.trim())?.[0];
  if (version !== undefined) {
    if (compareVersions(version, os.introduced) < 0) return `${name} needs ${device.platform} ${os.introduced} or later (the device runs ${device.osVersion})`;
    if (os.removed && compareVersions(version, os.removed) >= 0) return `${name} was removed in ${device.platform} ${os.removed} (the device runs ${device.osVersion})`;
  }

  const shared = device.sharedIPad === true && os.sharedipad ? os.sharedipad : undefined;
  if (os.sharedipad?.mode === 'forbidden' && device.sharedIPad === true) return `${name} is not available on Shared iPad`;
  if (os.sharedipad?.mode === 'required' && device.sharedIPad === false) return `${name} is only available on Shared iPad`;
  const onChannel = device.channel === 'user' ? (shared?.userchannel ?? os.userchannel) : (shared?.devicechannel ?? os.devicechannel);
  if (!onChannel) return `${name} cannot be sent on the ${device.channel} channel on ${device.platform}${shared ? ' (Shared iPad)' : ''}`;

  if (os.userenrollment === 'forbidden' && device.userEnrollment === true) return `${name} is not available with User Enrollment`;
  if (os.userenrollment === 'required' && device.userEnrollment === false) return `${name} needs User Enrollment`;
  if (os.supervised && device.supervised === false) return `${name} needs a supervised device`;
  if (os.requiresdep && device.enrolledViaDEP === false) return `${name} needs a device enrolled through Automated Device Enrollment`;
  // The system ignores AccessRights under User Enrollment (Apple's com.apple.mdm schema); what such
  // an enrollment may do is the userenrollment mode above.
  if (os.accessrightsBit && device.accessRights !== undefined && device.userEnrollment !== true && !(device.accessRights & os.accessrightsBit)) {
    return `${name} needs the ${os.accessrights} access right (${os.accessrightsBit}), which this enrollment's AccessRights (${device.accessRights}) do not grant`;
  }
  return null;
}

/** Dotted numeric versions: "10.13.4" < "10.14" == "10.14.0". */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}
