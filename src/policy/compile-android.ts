import { describeIssue } from '../android/amapi/issues.ts';
import { Policy, type ApplicationPolicy, type PasswordRequirements } from '../android/amapi/schemas.generated.ts';
import { AppError } from '../errors.ts';
import type { Ownership, PolicyDocument } from './model.ts';

export interface CompiledAndroidPolicy {
  platform: 'android';
  policy: Policy;
  notes: string[];
}

/** Android release → API level: AMAPI's minimumApiLevel takes the level, admins think in releases. */
const API_LEVELS: Record<string, number> = {
  '5': 21, '5.0': 21, '5.1': 22, '6': 23, '7': 24, '7.0': 24, '7.1': 25, '8': 26, '8.0': 26, '8.1': 27,
  '9': 28, '10': 29, '11': 30, '12': 31, '12.1': 32, '13': 33, '14': 34, '15': 35, '16': 36,
};

export function androidApiLevel(version: string): number {
  const level = API_LEVELS[version] ?? API_LEVELS[version.replace(/\.0$/, '')];
  if (level === undefined) throw new AppError('invalid_request', `min_os_version.android: ${version} is not an Android release this appliance knows (5 to 16)`);
  return level;
}

const QUALITY = { any: 'SOMETHING', numeric: 'NUMERIC_COMPLEX', alphanumeric: 'ALPHANUMERIC', complex: 'COMPLEX' } as const;

function passwordPolicy(doc: PolicyDocument, ownership: Ownership): PasswordRequirements | undefined {
  const p = doc.passcode;
  if (!p?.required) return undefined;
  return {
    // A personal device keeps its own lock screen: only the work profile's challenge is ours.
    passwordScope: ownership === 'personal' ? 'SCOPE_PROFILE' : 'SCOPE_DEVICE',
    passwordQuality: QUALITY[p.complexity],
    ...(p.min_length !== undefined ? { passwordMinimumLength: p.min_length } : {}),
    ...(p.complexity === 'complex' ? { passwordMinimumSymbols: 1 } : {}),
    ...(p.max_failed_attempts !== undefined ? { maximumFailedPasswordsForWipe: p.max_failed_attempts } : {}),
    ...(p.max_age_days !== undefined ? { passwordExpirationTimeout: `${p.max_age_days * 86_400}s` } : {}),
  };
}

function applications(doc: PolicyDocument): ApplicationPolicy[] {
  const apps = new Map<string, ApplicationPolicy>();
  for (const id of doc.apps?.allow ?? []) apps.set(id, { packageName: id, installType: 'AVAILABLE' });
  for (const id of doc.required_apps?.android ?? []) apps.set(id, { packageName: id, installType: 'FORCE_INSTALLED' });
  // Blocked wins over everything: an app both required and blocked is not installed.
  for (const id of doc.apps?.block ?? []) apps.set(id, { packageName: id, installType: 'BLOCKED' });
  return [...apps.values()].sort((a, b) => (a.packageName! < b.packageName! ? -1 : 1));
}

/**
 * The policy as an AMAPI Policy for one ownership, checked against the generated schema of
 * Google's discovery document (AppError `policy_invalid` naming the field otherwise).
 */
export function compileAndroid(doc: PolicyDocument, ownership: Ownership): CompiledAndroidPolicy {
  const notes: string[] = [];
  const out: Policy = {};
  const password = passwordPolicy(doc, ownership);
  if (password) out.passwordPolicies = [password];
  if (doc.auto_lock) out.maximumTimeToLock = String(doc.auto_lock.max_inactivity_minutes * 60_000);
  if (doc.encryption_required) out.encryptionPolicy = doc.passcode?.required ? 'ENABLED_WITH_PASSWORD' : 'ENABLED_WITHOUT_PASSWORD';
  if (doc.camera_disabled) out.cameraAccess = 'CAMERA_ACCESS_DISABLED';
  if (doc.screen_capture_disabled) out.screenCaptureDisabled = true;
  // On a company-owned device with a work profile, the personal side follows too.
  if (ownership === 'corporate' && (doc.camera_disabled || doc.screen_capture_disabled)) {
    out.personalUsagePolicies = {
      ...(doc.camera_disabled ? { cameraDisabled: true } : {}),
      ...(doc.screen_capture_disabled ? { screenCaptureDisabled: true } : {}),
    };
  }
  if (ownership === 'personal') notes.push('personal device: settings apply to the work profile only');
  const apps = applications(doc);
  if (apps.length) out.applications = apps;
  if (doc.apps?.allow) {
    out.playStoreMode = 'WHITELIST';
    notes.push('apps.allow: apps not in the policy are removed from the device (or work profile)');
  }
  else if (doc.apps?.block.length) out.playStoreMode = 'BLACKLIST';
  if (doc.apps && !doc.apps.users_may_install) out.installAppsDisabled = true;
  const min = doc.min_os_version?.android;
  if (min) out.minimumApiLevel = androidApiLevel(min);
  const r = Policy.safeParse(out);
  if (!r.success) throw new AppError('policy_invalid', describeIssue(r.error, 'policy'), 422);
  return { platform: 'android', policy: r.data, notes };
}
