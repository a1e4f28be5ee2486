import { compareVersions } from '../versions.ts';
import { forOwnership, type Ownership, type PolicyDocument } from '../policy/model.ts';

export type ComplianceState = 'compliant' | 'noncompliant' | 'unknown';

/** A rule the device fails: a stable id, a sentence for people, and what it is about. */
export interface FailingRule {
  id: string;
  message: string;
  app?: string;
  setting?: string;
  reason?: string;
  required?: string;
  reported?: string | null;
}

export interface Evaluation {
  state: ComplianceState;
  /** no_policy: compliant because no policy of ours applies; not_reported: unknown because nothing needed has been reported. */
  reason: 'no_policy' | 'not_reported' | null;
  failing: FailingRule[];
}

/** Rules collected with those that could not be checked for lack of a report. */
function verdict(failing: FailingRule[], unchecked: number, checked: number): Evaluation {
  if (failing.length) return { state: 'noncompliant', reason: null, failing };
  if (unchecked) return { state: 'unknown', reason: checked ? null : 'not_reported', failing };
  return { state: 'compliant', reason: null, failing };
}

/** What an Apple device reported: its inventory as stored (null: not answered yet). */
export interface AppleFacts {
  platform: string | null;
  ownership: Ownership | null;
  osVersion: string | null;
  securityInfo: Record<string, unknown> | null;
  installedApps: Array<Record<string, unknown>> | null;
}

const APPLE_OS_KEYS: Record<string, 'ios' | 'ipados' | 'macos'> = { ios: 'ios', ipados: 'ipados', macos: 'macos' };

/**
 * An Apple device against its document: passcode from SecurityInfo (iOS and iPadOS report it;
 * a Mac's login password is not a passcode), encryption (data protection needs the hardware's
 * file-level encryption and a passcode; FileVault on a Mac), the minimum OS, required apps
 * present and blocked apps absent in InstalledApplicationList.
 */
export function evaluateApple(doc: PolicyDocument | null, f: AppleFacts): Evaluation {
  if (!doc) return { state: 'compliant', reason: 'no_policy', failing: [] };
  const d = forOwnership(doc, f.ownership ?? 'corporate');
  const failing: FailingRule[] = [];
  let unchecked = 0;
  let checked = 0;
  const mac = f.platform === 'macos';
  const sec = f.securityInfo;
  if (d.passcode?.required && !mac) {
    if (!sec) unchecked++;
    else {
      checked++;
      if (sec.PasscodePresent !== true) failing.push({ id: 'passcode_required', message: 'No passcode is set on the device' });
      else if (sec.PasscodeCompliant === false || sec.PasscodeCompliantWithProfiles === false) {
        failing.push({ id: 'passcode_compliant', message: 'The passcode does not meet the policy (length, complexity or age)' });
      }
    }
  }
  if (d.encryption_required) {
    if (!sec) unchecked++;
    else {
      checked++;
      if (mac) {
        if (sec.FDE_Enabled !== true) failing.push({ id: 'encryption_required', message: 'FileVault is not turned on' });
      } else {
        // HardwareEncryptionCaps: 1 block-level, 2 file-level; data protection is on only with a passcode.
        const caps = typeof sec.HardwareEncryptionCaps === 'number' ? sec.HardwareEncryptionCaps : 0;
        if ((caps & 2) === 0 || sec.PasscodePresent !== true) failing.push({ id: 'encryption_required', message: 'Data protection is off: the device needs a passcode to encrypt its data' });
      }
    }
  }
  const osKey = APPLE_OS_KEYS[f.platform ?? ''];
  const min = osKey ? d.min_os_version?.[osKey] : undefined;
  if (min) {
    if (!f.osVersion) unchecked++;
    else {
      checked++;
      if (compareVersions(f.osVersion, min) < 0) failing.push({ id: 'min_os_version', message: `The OS version ${f.osVersion} is below the minimum ${min}`, required: min, reported: f.osVersion });
    }
  }
  const required = d.required_apps?.apple ?? [];
  const blocked = d.apps?.block ?? [];
  if (checksApps(d)) {
    if (!f.installedApps) unchecked++;
    else {
      checked++;
      const installed = new Set(f.installedApps.map((a) => a.Identifier).filter((x): x is string => typeof x === 'string'));
      for (const app of required) if (!installed.has(app)) failing.push({ id: 'required_app_missing', message: `The required app ${app} is not installed`, app });
      for (const app of blocked) if (installed.has(app)) failing.push({ id: 'blocked_app_installed', message: `The blocked app ${app} is installed`, app });
    }
  }
  return verdict(failing, unchecked, checked);
}

/** Whether an Apple device's installed apps take part in its evaluation (required or blocked apps). */
export const checksApps = (doc: PolicyDocument | null): boolean => !!doc && ((doc.required_apps?.apple.length ?? 0) > 0 || (doc.apps?.block.length ?? 0) > 0);

/** What an Android device reported through Google. */
export interface AndroidFacts {
  ownership: Ownership | null;
  policyCompliant: boolean | null;
  nonComplianceDetails: unknown[] | null;
  androidVersion: string | null;
  securityPatchLevel: string | null;
}

const REASONS: Record<string, string> = {
  API_LEVEL: 'not supported by the Android version on the device',
  MANAGEMENT_MODE: 'not supported in this management mode',
  USER_ACTION: 'the user has not done what it needs',
  INVALID_VALUE: 'the setting has an invalid value',
  APP_NOT_INSTALLED: 'the app it needs is not installed',
  UNSUPPORTED: 'not supported by the Android Device Policy version on the device',
  APP_INSTALLED: 'a blocked app is installed',
  PENDING: 'not applied yet',
  APP_INCOMPATIBLE: 'the app does not support it',
  APP_NOT_UPDATED: 'the app is not updated to the required version',
  DEVICE_INCOMPATIBLE: 'the device is incompatible with it',
  APP_SIGNING_CERT_MISMATCH: "the app's signing certificate does not match",
  PROJECT_NOT_PERMITTED: 'the Google Cloud project may not use this setting',
};

/**
 * An Android device: Google's own verdict on the policy it applies (policyCompliant, and each
 * nonComplianceDetails entry as a rule), then what Google does not judge: the minimum Android
 * release and a reported security patch level. Google's verdict counts even without a policy of
 * ours: an Android device always runs some AMAPI policy (the one it enrolled with).
 */
export function evaluateAndroid(doc: PolicyDocument | null, f: AndroidFacts): Evaluation {
  const failing: FailingRule[] = [];
  let unchecked = 0;
  let checked = 0;
  if (f.policyCompliant === null) unchecked++;
  else {
    checked++;
    const details = (f.nonComplianceDetails ?? []).filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
    for (const x of details) {
      const setting = typeof x.settingName === 'string' ? x.settingName : 'unknown';
      const reason = typeof x.nonComplianceReason === 'string' ? x.nonComplianceReason : 'NON_COMPLIANCE_REASON_UNSPECIFIED';
      const app = typeof x.packageName === 'string' ? x.packageName : undefined;
      failing.push({
        id: 'android_setting_noncompliant',
        message: `${setting}${app ? ` (${app})` : ''}: ${REASONS[reason] ?? reason}`,
        setting,
        reason,
        ...(app ? { app } : {}),
      });
    }
    if (!f.policyCompliant && !details.length) failing.push({ id: 'android_policy_noncompliant', message: 'Google reports the device is not compliant with its policy' });
  }
  if (!doc) return failing.length || unchecked ? verdict(failing, unchecked, checked) : { state: 'compliant', reason: 'no_policy', failing };
  const d = forOwnership(doc, f.ownership ?? 'corporate');
  const min = d.min_os_version?.android;
  if (min) {
    if (!f.androidVersion) unchecked++;
    else {
      checked++;
      if (compareVersions(f.androidVersion, min) < 0) {
        failing.push({ id: 'min_os_version', message: `Android ${f.androidVersion} is below the minimum ${min}`, required: min, reported: f.androidVersion });
      }
    }
  }
  if (f.policyCompliant !== null && !f.securityPatchLevel) failing.push({ id: 'security_patch_level', message: 'The device does not report its security patch level' });
  return verdict(failing, unchecked, checked);
}

/** The identity of a failing-rule set: what the timeline compares. */
export const ruleKey = (rules: readonly FailingRule[]) =>
  rules
    .map((r) => [r.id, r.setting ?? '', r.app ?? '', r.reason ?? ''].join(':'))
    .sort()
    .join('|');
