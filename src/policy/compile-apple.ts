import crypto from 'node:crypto';
import { encodePlist, type PlistDict } from '../apple/plist.ts';
import { keySupport, validateProfile, type AppleOs } from '../apple/profile-schema.ts';
import type { PolicyDocument } from './model.ts';

export type ApplePlatform = 'ios' | 'ipados' | 'macos';
const OS: Record<ApplePlatform, AppleOs> = { ios: 'iOS', ipados: 'iOS', macos: 'macOS' };

export const PASSCODE_PAYLOAD = 'com.apple.mobiledevice.passwordpolicy';
export const RESTRICTIONS_PAYLOAD = 'com.apple.applicationaccess';
const PREFIX = 'org.openmdm.policy';

/** One profile per policy, whatever its version: installing a later version replaces the earlier one. */
export const policyProfileIdentifier = (policyId: string) => `${PREFIX}.${policyId}`;

export interface PolicyRef {
  id: string;
  name: string;
  version: number;
}

export interface CompiledAppleProfile {
  platform: ApplePlatform;
  /** The top-level PayloadIdentifier: one per policy, so installing a later version replaces the earlier one. */
  identifier: string;
  profile: PlistDict;
  /** What the policy asks that this profile cannot carry, or carries with a condition (supervision). */
  notes: string[];
}

/** A UUID derived from its inputs: the same policy version always compiles to the same bytes. */
export function stableUuid(...parts: Array<string | number>): string {
  const h = crypto.createHash('sha256').update(parts.join('\0')).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex').toUpperCase();
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * Sets each key the platform takes, per Apple's schema; a key the platform does not take is left
 * out with a note, one it honours only when supervised is kept with a note.
 */
function payloadBuilder(type: string, os: AppleOs, notes: string[]) {
  const keys: PlistDict = {};
  return {
    keys,
    set(key: string, value: unknown, what: string): void {
      const s = keySupport(type, key, os);
      if (!s) throw new Error(`${type}.${key}: not in Apple's schema`);
      if (!s.supported) {
        notes.push(`${what}: not available on ${os} (${type}.${key})`);
        return;
      }
      if (s.supervisedOnly) notes.push(`${what}: applies on supervised devices only (${type}.${key})`);
      keys[key] = value;
    },
  };
}

function passcodeKeys(doc: PolicyDocument, os: AppleOs, notes: string[]): PlistDict {
  const b = payloadBuilder(PASSCODE_PAYLOAD, os, notes);
  const p = doc.passcode;
  // On iOS, Data Protection (the encryption) is on exactly when a passcode is set.
  const forced = (p?.required ?? false) || (doc.encryption_required && os === 'iOS');
  if (forced) b.set('forcePIN', true, 'passcode.required');
  if (p?.min_length !== undefined) b.set('minLength', p.min_length, 'passcode.min_length');
  if (p && p.complexity !== 'any') b.set('allowSimple', false, 'passcode.complexity');
  if (p && (p.complexity === 'alphanumeric' || p.complexity === 'complex')) b.set('requireAlphanumeric', true, 'passcode.complexity');
  if (p?.complexity === 'complex') b.set('minComplexChars', 1, 'passcode.complexity');
  if (p?.max_failed_attempts !== undefined) b.set('maxFailedAttempts', p.max_failed_attempts, 'passcode.max_failed_attempts');
  if (p?.max_age_days !== undefined) b.set('maxPINAgeInDays', p.max_age_days, 'passcode.max_age_days');
  if (doc.auto_lock) b.set('maxInactivity', doc.auto_lock.max_inactivity_minutes, 'auto_lock.max_inactivity_minutes');
  return b.keys;
}

function restrictionKeys(doc: PolicyDocument, os: AppleOs, notes: string[]): PlistDict {
  const b = payloadBuilder(RESTRICTIONS_PAYLOAD, os, notes);
  if (doc.camera_disabled) b.set('allowCamera', false, 'camera_disabled');
  if (doc.screen_capture_disabled) b.set('allowScreenShot', false, 'screen_capture_disabled');
  const apps = doc.apps;
  if (apps && !apps.users_may_install) b.set('allowAppInstallation', false, 'apps.users_may_install');
  if (apps?.allow) {
    b.set('allowListedAppBundleIDs', apps.allow, 'apps.allow');
    // Apple's own apps are bundle ids like any other: an allow list without them hides them.
    if (b.keys.allowListedAppBundleIDs) notes.push('apps.allow: apps not listed, Apple\'s own included, cannot be launched');
  }
  if (apps?.block.length) b.set('blockedAppBundleIDs', apps.block, 'apps.block');
  return b.keys;
}

/**
 * The policy as one configuration profile for an Apple platform: a passcode payload and a
 * restrictions payload, each present only when it sets something, validated against Apple's
 * schemas (AppError `profile_invalid` naming the key, e.g. a value outside Apple's range).
 */
export function compileApple(ref: PolicyRef, doc: PolicyDocument, platform: ApplePlatform): CompiledAppleProfile {
  const os = OS[platform];
  const notes: string[] = [];
  const identifier = policyProfileIdentifier(ref.id);
  const content: PlistDict[] = [];
  const add = (type: string, suffix: string, keys: PlistDict) => {
    if (Object.keys(keys).length === 0) return;
    content.push({
      PayloadType: type,
      PayloadVersion: 1,
      PayloadIdentifier: `${identifier}.${suffix}`,
      PayloadUUID: stableUuid(ref.id, ref.version, type),
      PayloadDisplayName: `${ref.name}: ${suffix}`,
      ...keys,
    });
  };
  add(PASSCODE_PAYLOAD, 'passcode', passcodeKeys(doc, os, notes));
  add(RESTRICTIONS_PAYLOAD, 'restrictions', restrictionKeys(doc, os, notes));
  if (doc.encryption_required && os === 'macOS') notes.push('encryption_required: FileVault is not configured by this profile (checked by compliance)');
  if (doc.min_os_version?.[platform]) notes.push(`min_os_version.${platform}: checked by compliance, not a profile setting`);
  if (doc.required_apps?.apple.length) notes.push('required_apps.apple: installed as apps, not by this profile');
  const profile: PlistDict = {
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: identifier,
    PayloadUUID: stableUuid(ref.id, ref.version, 'profile'),
    PayloadDisplayName: ref.name,
    PayloadDescription: `Policy ${ref.name}, version ${ref.version}`,
    PayloadContent: content,
  };
  validateProfile(profile, os);
  return { platform, identifier, profile, notes };
}

/** The profile as the XML plist InstallProfile would carry. */
export const appleProfileXml = (c: CompiledAppleProfile): string => encodePlist(c.profile).toString('utf8');
