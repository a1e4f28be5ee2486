import { compareVersions } from '../../versions.ts';
import { commandSpec } from './catalog.ts';
import type { KeyNode, KeyOsSupport, OsSupport, Platform } from './types.ts';
import { isDictionary } from './validate.ts';

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
 * nothing known stands in the way. With `params` (the command's validated parameters), each
 * parameter given is checked too: Apple's schema marks many as one platform's or from some OS
 * version on (EraseDevice's PIN is macOS's, ReturnToService needs iOS 17). AppError
 * unknown_request_type for a RequestType Apple does not define.
 */
export function checkSupport(requestType: string, device: DeviceFacts, params?: Record<string, unknown>): string | null {
  const spec = commandSpec(requestType);
  // The Command dictionary of a built command carries its RequestType beside the parameters.
  const { RequestType: _, ...given } = params ?? {};
  return commandRefusal(spec, device) ?? (params ? paramRefusal(spec.requestType, spec.payloadKeys, given, device, 'parameter ') : null);
}

function commandRefusal(spec: ReturnType<typeof commandSpec>, device: DeviceFacts): string | null {
  const os: OsSupport | undefined = spec.supportedOS[device.platform];
  return os ? supportRefusal(spec.requestType, os, device) : `${spec.requestType} is not available on ${device.platform}`;
}

/**
 * What one supportedOS entry rules out on this device: a command's (every field given) or a
 * parameter's (only where it differs from its command). A fact the device has not told is not checked.
 */
function supportRefusal(name: string, os: KeyOsSupport, device: DeviceFacts): string | null {
  const version = osVersion(device);
  if (version !== undefined) {
    if (os.introduced && compareVersions(version, os.introduced) < 0) return `${name} needs ${device.platform} ${os.introduced} or later (the device runs ${device.osVersion})`;
    if (os.removed && compareVersions(version, os.removed) >= 0) return `${name} was removed in ${device.platform} ${os.removed} (the device runs ${device.osVersion})`;
  }

  const shared = device.sharedIPad === true && os.sharedipad ? os.sharedipad : undefined;
  if (os.sharedipad?.mode === 'forbidden' && device.sharedIPad === true) return `${name} is not available on Shared iPad`;
  if (os.sharedipad?.mode === 'required' && device.sharedIPad === false) return `${name} is only available on Shared iPad`;
  const onChannel = device.channel === 'user' ? (shared?.userchannel ?? os.userchannel) : (shared?.devicechannel ?? os.devicechannel);
  if (onChannel === false) return `${name} cannot be sent on the ${device.channel} channel on ${device.platform}${shared ? ' (Shared iPad)' : ''}`;

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

const osVersion = (device: DeviceFacts) => (device.osVersion === undefined ? undefined : /^\d+(?:\.\d+)*/.exec(device.osVersion.trim())?.[0]);


/** The first parameter given that this device cannot take, walking the schema tree along the value. */
function paramRefusal(command: string, keys: KeyNode[], value: Record<string, unknown>, device: DeviceFacts, prefix: string): string | null {
  const named = new Map(keys.filter((k) => !k.wildcard).map((k) => [k.key, k]));
  const wildcard = keys.find((k) => k.wildcard);
  for (const [name, v] of Object.entries(value)) {
    const node = named.get(name) ?? wildcard;
    if (!node || v === undefined) continue;
    const refusal = keyRefusal(command, `${prefix}${name}`, node, device) ?? valueRefusal(command, `${prefix}${name}`, node, v, device);
    if (refusal) return refusal;
  }
  return null;
}

function valueRefusal(command: string, path: string, node: KeyNode, v: unknown, device: DeviceFacts): string | null {
  if (node.type === 'dictionary' && node.subkeys && isDictionary(v)) return paramRefusal(command, node.subkeys, v, device, `${path}.`);
  if (node.type !== 'array' || !node.subkeys || !Array.isArray(v)) return null;
  // A string's subkeys name its values (DeviceInformation's Queries): a device leaves out the
  // answers it has none for, so those are not refused.
  for (const [i, element] of v.entries()) {
    const shape = node.discriminator
      ? node.subkeys.find((s) => isDictionary(element) && s.subkeys?.find((k) => k.key === node.discriminator)?.rangelist?.includes(element[node.discriminator!] as string))
      : node.subkeys[0];
    if (!shape) continue;
    const at = node.discriminator ? `${path} item ${String((element as Record<string, unknown>)[node.discriminator])}` : `${path}[${i}]`;
    const refusal = keyRefusal(command, at, shape, device) ?? valueRefusal(command, at, shape, element, device);
    if (refusal) return refusal;
  }
  return null;
}

/** What Apple's schema says of one parameter on this device, where it differs from its command. */
function keyRefusal(command: string, what: string, node: KeyNode, device: DeviceFacts): string | null {
  if (!node.supportedOS || !(device.platform in node.supportedOS)) return null;
  const os = node.supportedOS[device.platform];
  return os ? supportRefusal(`${command} ${what}`, os, device) : `${command} ${what} is not available on ${device.platform}`;
}
