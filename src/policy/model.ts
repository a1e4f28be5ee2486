import { z } from 'zod';

/**
 * The platform-neutral policy document: what the admin asks of devices, once for every platform.
 * The compilers (compile-apple.ts, compile-android.ts) turn it into what each platform takes; a
 * setting a platform cannot express is left out there, never approximated into something else.
 * Every object is strict: a misspelt setting must be refused, not silently ignored.
 */

/** A dotted version such as 17, 17.4 or 14.2.1. */
const osVersion = z.string().regex(/^\d{1,3}(\.\d{1,3}){0,2}$/, 'must be a version such as 17.4');
/** An app id: a bundle id (Apple) or a package name (Android). */
export const appId = z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/, 'must be an app id such as com.example.app');

export const PASSCODE_COMPLEXITY = ['any', 'numeric', 'alphanumeric', 'complex'] as const;

export const Passcode = z.strictObject({
  required: z.boolean().default(true),
  min_length: z.number().int().min(1).max(16).optional(),
  /** any: whatever the user picks; numeric: digits, no simple sequences; alphanumeric: letters and digits; complex: plus a symbol. */
  complexity: z.enum(PASSCODE_COMPLEXITY).default('any'),
  /** Failed attempts before the device (Android: the work profile on a personal device) is wiped. */
  max_failed_attempts: z.number().int().min(2).max(100).optional(),
  max_age_days: z.number().int().min(1).max(730).optional(),
});

export const AppRestrictions = z.strictObject({
  /** When given, only these apps may be used (Apple: supervised iOS; Android: the Play Store shows only these). */
  allow: z.array(appId).max(500).optional(),
  block: z.array(appId).max(500).default([]),
  users_may_install: z.boolean().default(true),
});

const perPlatform = <T extends z.ZodType>(t: T) => z.strictObject({ ios: t.optional(), ipados: t.optional(), macos: t.optional(), android: t.optional() });

export const PolicyDocument = z.strictObject({
  passcode: Passcode.optional(),
  auto_lock: z.strictObject({ max_inactivity_minutes: z.number().int().min(1).max(60) }).optional(),
  encryption_required: z.boolean().default(false),
  camera_disabled: z.boolean().default(false),
  screen_capture_disabled: z.boolean().default(false),
  apps: AppRestrictions.optional(),
  /** Apps every device in scope must have: bundle ids for Apple, package names for Android. Data only for now. */
  required_apps: z.strictObject({ apple: z.array(appId).max(200).default([]), android: z.array(appId).max(200).default([]) }).optional(),
  min_os_version: perPlatform(osVersion).optional(),
  /**
   * What of the policy reaches a personal (BYOD) device: `work_profile` — everything, but on
   * Android only inside the work profile; `passcode_only` — the passcode rules and auto-lock alone.
   */
  personal_devices: z.enum(['work_profile', 'passcode_only']).default('work_profile'),
});
export type PolicyDocument = z.output<typeof PolicyDocument>;
export type PolicyInput = z.input<typeof PolicyDocument>;

/** Apple platforms plus Android: what a policy can be compiled for. */
export const POLICY_PLATFORMS = ['ios', 'ipados', 'macos', 'android'] as const;
export type PolicyPlatform = (typeof POLICY_PLATFORMS)[number];
export type Ownership = 'corporate' | 'personal';

/**
 * The document as it applies to one device's ownership: a personal device under `passcode_only`
 * keeps the passcode rules and auto-lock (the lock screen, which Apple sets in one payload) alone.
 */
export function forOwnership(doc: PolicyDocument, ownership: Ownership): PolicyDocument {
  if (ownership === 'corporate' || doc.personal_devices === 'work_profile') return doc;
  return PolicyDocument.parse({ passcode: doc.passcode, auto_lock: doc.auto_lock, personal_devices: doc.personal_devices });
}
