// The compilers against the platforms' own schemas: every Apple key emitted is in Apple's YAML
// with the right type and range; Android output passes the schema generated from Google's
// discovery document; what a platform cannot take is refused or left out, never sent.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { generate, readSchemaFiles } from '../../scripts/gen-apple-profiles.ts';
import { Policy } from '../android/amapi/schemas.generated.ts';
import { decodePlist } from '../apple/plist.ts';
import { validatePayload } from '../apple/profile-schema.ts';
import { isAppError } from '../errors.ts';
import { compileAndroid } from './compile-android.ts';
import { appleProfileXml, compileApple, PASSCODE_PAYLOAD, RESTRICTIONS_PAYLOAD } from './compile-apple.ts';
import { forOwnership, PolicyDocument, type PolicyInput } from './model.ts';

const root = path.resolve(import.meta.dirname, '../..');
const ref = { id: 'pol-1', name: 'Standard', version: 3 };
const full: PolicyInput = {
  passcode: { required: true, min_length: 8, complexity: 'complex', max_failed_attempts: 10, max_age_days: 90 },
  auto_lock: { max_inactivity_minutes: 5 },
  encryption_required: true,
  camera_disabled: true,
  screen_capture_disabled: true,
  apps: { block: ['com.example.games'], users_may_install: false },
  required_apps: { apple: ['com.example.mail'], android: ['com.example.mail'] },
  min_os_version: { ios: '17.0', android: '13' },
};
const doc = (d: PolicyInput = full) => PolicyDocument.parse(d);

/** Apple's YAML as published, read here (tests may) rather than through the generated module. */
const yamlKeys = (type: string): Map<string, { type: string; range?: { min?: number; max?: number } }> => {
  const file = readSchemaFiles().find((f) => (parse(f.text) as { payload: { payloadtype: string } }).payload.payloadtype === type)!;
  const keys = (parse(file.text) as { payloadkeys: Array<{ key: string; type: string; range?: { min?: number; max?: number } }> }).payloadkeys;
  return new Map(keys.map((k) => [k.key, k]));
};
const plistType = (v: unknown) => (typeof v === 'boolean' ? '<boolean>' : typeof v === 'number' ? '<integer>' : typeof v === 'string' ? '<string>' : Array.isArray(v) ? '<array>' : '<dictionary>');

test('the generated profile schemas are what the generator makes from the committed YAML', () => {
  assert.equal(generate(readSchemaFiles()), fs.readFileSync(path.join(root, 'src/apple/profile-schemas.generated.ts'), 'utf8'));
});

test('every key the Apple compiler emits is in Apple\'s YAML with the type and range it declares', () => {
  const common = yamlKeys('CommonPayloadKeys');
  const top = yamlKeys('TopLevel');
  for (const platform of ['ios', 'ipados', 'macos'] as const) {
    const c = compileApple(ref, doc(), platform);
    for (const [k, v] of Object.entries(c.profile)) assert.equal(top.get(k)?.type, plistType(v), `TopLevel.${k} on ${platform}`);
    const payloads = c.profile.PayloadContent as Array<Record<string, unknown>>;
    assert.deepEqual(payloads.map((p) => p.PayloadType), [PASSCODE_PAYLOAD, RESTRICTIONS_PAYLOAD]);
    for (const p of payloads) {
      const own = yamlKeys(p.PayloadType as string);
      for (const [k, v] of Object.entries(p)) {
        const spec = own.get(k) ?? common.get(k);
        assert.ok(spec, `${String(p.PayloadType)}.${k} is in Apple's schema`);
        assert.equal(spec.type, plistType(v), `${k} type`);
        if (typeof v === 'number' && spec.range) assert.ok(v >= (spec.range.min ?? -Infinity) && v <= (spec.range.max ?? Infinity), `${k} in range`);
      }
    }
    // The XML reads back, through the appliance's own plist reader, as the dictionary compiled.
    assert.deepEqual(decodePlist(Buffer.from(appleProfileXml(c))), c.profile);
  }
});

test('Apple settings land only where the schema says the platform takes them', () => {
  const ios = compileApple(ref, doc(), 'ios');
  const [pass, restr] = ios.profile.PayloadContent as Array<Record<string, unknown>>;
  assert.equal(pass!.forcePIN, true);
  assert.equal(pass!.minLength, 8);
  assert.equal(pass!.allowSimple, false);
  assert.equal(pass!.requireAlphanumeric, true);
  assert.equal(pass!.minComplexChars, 1);
  assert.equal(pass!.maxFailedAttempts, 10);
  assert.equal(pass!.maxPINAgeInDays, 90);
  assert.equal(pass!.maxInactivity, 5);
  assert.deepEqual(restr, { ...restr, allowCamera: false, allowScreenShot: false, allowAppInstallation: false, blockedAppBundleIDs: ['com.example.games'] });
  assert.ok(ios.notes.some((n) => /allowAppInstallation/.test(n) && /supervised/.test(n)), ios.notes.join('\n'));

  // macOS has no allowAppInstallation nor blockedAppBundleIDs: left out, with a note each.
  const mac = compileApple(ref, doc(), 'macos');
  const macRestr = (mac.profile.PayloadContent as Array<Record<string, unknown>>)[1]!;
  assert.equal(macRestr.allowCamera, false);
  assert.equal(macRestr.allowAppInstallation, undefined);
  assert.equal(macRestr.blockedAppBundleIDs, undefined);
  assert.ok(mac.notes.some((n) => /not available on macOS/.test(n) && /allowAppInstallation/.test(n)), mac.notes.join('\n'));
  assert.ok(mac.notes.some((n) => /FileVault/.test(n)));
});

test('a value outside Apple\'s range is refused with the key named', () => {
  for (const [input, key] of [
    [{ passcode: { required: true, max_failed_attempts: 20 } }, /maxFailedAttempts: must be at most 11/],
    [{ auto_lock: { max_inactivity_minutes: 30 } }, /maxInactivity: must be at most 15/],
  ] as const) {
    assert.throws(() => compileApple(ref, doc(input), 'ios'), (e) => isAppError(e) && e.code === 'profile_invalid' && e.status === 422 && key.test(e.message));
  }
});

test('the validator refuses unknown keys, wrong types and keys a platform does not take', () => {
  const base = { PayloadType: PASSCODE_PAYLOAD, PayloadVersion: 1, PayloadIdentifier: 'x', PayloadUUID: 'y' };
  validatePayload({ ...base, minLength: 4 }, 'iOS');
  const refused = (p: Record<string, unknown>, os: 'iOS' | 'macOS' | 'watchOS', re: RegExp) =>
    assert.throws(() => validatePayload(p, os), (e) => isAppError(e) && re.test(e.message));
  refused({ ...base, minLenght: 4 }, 'iOS', /passwordpolicy\.minLenght: not a key/);
  refused({ ...base, minLength: '4' }, 'iOS', /minLength: must be an integer/);
  refused({ ...base, minComplexChars: 1 }, 'watchOS', /minComplexChars: not available on watchOS/);
  refused({ ...base, PayloadVersion: 2 }, 'iOS', /PayloadVersion: must be one of 1/);
  refused({ PayloadType: RESTRICTIONS_PAYLOAD, blockedAppBundleIDs: ['a.b', 3] }, 'iOS', /blockedAppBundleIDs\[1\]: must be a string/);
});

test('identifiers are stable per policy and UUIDs per version, so a new version replaces the old profile', () => {
  const a = compileApple(ref, doc(), 'ios');
  const again = compileApple(ref, doc(), 'ios');
  const next = compileApple({ ...ref, version: 4 }, doc(), 'ios');
  assert.deepEqual(a.profile, again.profile);
  assert.equal(next.profile.PayloadIdentifier, a.profile.PayloadIdentifier);
  assert.notEqual(next.profile.PayloadUUID, a.profile.PayloadUUID);
  assert.match(String(a.profile.PayloadUUID), /^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
});

test('Android output passes the generated Policy schema with the expected fields', () => {
  const corp = compileAndroid(doc(), 'corporate');
  assert.ok(Policy.safeParse(corp.policy).success);
  assert.deepEqual(corp.policy, {
    passwordPolicies: [
      { passwordScope: 'SCOPE_DEVICE', passwordQuality: 'COMPLEX', passwordMinimumLength: 8, passwordMinimumSymbols: 1, maximumFailedPasswordsForWipe: 10, passwordExpirationTimeout: '7776000s' },
    ],
    maximumTimeToLock: '300000',
    encryptionPolicy: 'ENABLED_WITH_PASSWORD',
    cameraAccess: 'CAMERA_ACCESS_DISABLED',
    screenCaptureDisabled: true,
    personalUsagePolicies: { cameraDisabled: true, screenCaptureDisabled: true },
    applications: [
      { packageName: 'com.example.games', installType: 'BLOCKED' },
      { packageName: 'com.example.mail', installType: 'FORCE_INSTALLED' },
    ],
    playStoreMode: 'BLACKLIST',
    installAppsDisabled: true,
    minimumApiLevel: 33,
  });
  const personal = compileAndroid(doc(), 'personal');
  assert.equal(personal.policy.passwordPolicies?.[0]?.passwordScope, 'SCOPE_PROFILE');
  assert.equal(personal.policy.personalUsagePolicies, undefined);
  const allow = compileAndroid(doc({ apps: { allow: ['com.example.a'] } }), 'corporate');
  assert.equal(allow.policy.playStoreMode, 'WHITELIST');
  assert.deepEqual(allow.policy.applications, [{ packageName: 'com.example.a', installType: 'AVAILABLE' }]);
  assert.throws(() => compileAndroid(doc({ min_os_version: { android: '99' } }), 'corporate'), /min_os_version\.android: 99/);
});

test('the model refuses unknown fields and bad enums with the field named', () => {
  const r = PolicyDocument.safeParse({ passcode: { required: true, colour: 'red' } });
  assert.equal(r.success, false);
  assert.equal(r.error!.issues[0]!.code, 'unrecognized_keys');
  const e = PolicyDocument.safeParse({ passcode: { complexity: 'strong' } });
  assert.deepEqual(e.error!.issues[0]!.path, ['passcode', 'complexity']);
});

test('a personal device under passcode_only gets the passcode and auto-lock alone', () => {
  const d = doc({ ...full, personal_devices: 'passcode_only' });
  const personal = forOwnership(d, 'personal');
  assert.deepEqual(Object.keys(compileAndroid(personal, 'personal').policy).sort(), ['maximumTimeToLock', 'passwordPolicies']);
  const ios = compileApple(ref, personal, 'ios');
  assert.deepEqual((ios.profile.PayloadContent as Array<{ PayloadType: string }>).map((p) => p.PayloadType), [PASSCODE_PAYLOAD]);
  assert.equal(forOwnership(d, 'corporate'), d);
  assert.equal(forOwnership(doc(), 'personal').camera_disabled, true, 'work_profile keeps everything');
});

test('an allow list: supervised iOS takes it, macOS does not, and both platforms say what it implies', () => {
  const d = doc({ apps: { allow: ['com.example.mail', 'com.apple.mobilesafari'] } });
  const ios = compileApple(ref, d, 'ios');
  assert.deepEqual((ios.profile.PayloadContent as Array<Record<string, unknown>>)[0]!.allowListedAppBundleIDs, ['com.example.mail', 'com.apple.mobilesafari']);
  assert.ok(ios.notes.some((n) => /Apple's own included/.test(n)));
  const mac = compileApple(ref, d, 'macos');
  assert.deepEqual(mac.profile.PayloadContent, []);
  assert.ok(!mac.notes.some((n) => /Apple's own included/.test(n)));
  assert.ok(compileAndroid(d, 'corporate').notes.some((n) => /removed from the device/.test(n)));
});
