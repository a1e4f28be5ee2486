// Compliance rules without a database: each rule's verdict from what a device reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PolicyDocument, type PolicyInput } from '../policy/model.ts';
import { compareVersions } from '../versions.ts';
import { evaluateAndroid, evaluateApple, ruleKey, type AndroidFacts, type AppleFacts } from './evaluate.ts';

const doc = (d: PolicyInput) => PolicyDocument.parse(d);
const iphone = (o: Partial<AppleFacts> = {}): AppleFacts => ({
  platform: 'ios',
  ownership: 'corporate',
  osVersion: '17.5.1',
  securityInfo: { HardwareEncryptionCaps: 3, PasscodePresent: true, PasscodeCompliant: true, PasscodeCompliantWithProfiles: true },
  installedApps: [{ Identifier: 'com.example.app' }],
  ...o,
});
const mac = (o: Partial<AppleFacts> = {}): AppleFacts => ({ ...iphone(), platform: 'macos', osVersion: '14.5', securityInfo: { FDE_Enabled: true }, ...o });
const pixel = (o: Partial<AndroidFacts> = {}): AndroidFacts => ({
  ownership: 'corporate',
  policyCompliant: true,
  nonComplianceDetails: null,
  androidVersion: '15',
  securityPatchLevel: '2026-05-05',
  ...o,
});
const ids = (e: { failing: Array<{ id: string }> }) => e.failing.map((r) => r.id);

test('versions compare by number, part by part', () => {
  assert.ok(compareVersions('17.10', '17.9') > 0);
  assert.ok(compareVersions('17.5.1', '17.5') > 0);
  assert.equal(compareVersions('17', '17.0.0'), 0);
  assert.ok(compareVersions('9', '10') < 0);
});

test('no policy: compliant with no_policy on Apple; on Android Google still judges', () => {
  assert.deepEqual(evaluateApple(null, iphone({ securityInfo: null })), { state: 'compliant', reason: 'no_policy', failing: [] });
  assert.deepEqual(evaluateAndroid(null, pixel()), { state: 'compliant', reason: 'no_policy', failing: [] });
  assert.equal(evaluateAndroid(null, pixel({ policyCompliant: false })).state, 'noncompliant');
  assert.deepEqual(ids(evaluateAndroid(null, pixel({ policyCompliant: false }))), ['android_policy_noncompliant']);
  assert.deepEqual(evaluateAndroid(null, pixel({ policyCompliant: null })), { state: 'unknown', reason: 'not_reported', failing: [] });
});

test('Apple passcode: absent, present but not compliant, compliant; not judged on a Mac', () => {
  const d = doc({ passcode: { required: true } });
  assert.deepEqual(ids(evaluateApple(d, iphone({ securityInfo: { PasscodePresent: false } }))), ['passcode_required']);
  assert.deepEqual(ids(evaluateApple(d, iphone({ securityInfo: { PasscodePresent: true, PasscodeCompliantWithProfiles: false } }))), ['passcode_compliant']);
  assert.equal(evaluateApple(d, iphone()).state, 'compliant');
  assert.equal(evaluateApple(d, mac({ securityInfo: {} })).state, 'compliant');
  // Not reported yet: unknown, never compliant.
  assert.deepEqual(evaluateApple(d, iphone({ securityInfo: null })), { state: 'unknown', reason: 'not_reported', failing: [] });
});

test('Apple encryption: data protection needs file-level encryption and a passcode; FileVault on a Mac', () => {
  const d = doc({ encryption_required: true });
  assert.equal(evaluateApple(d, iphone()).state, 'compliant');
  assert.deepEqual(ids(evaluateApple(d, iphone({ securityInfo: { HardwareEncryptionCaps: 3, PasscodePresent: false } }))), ['encryption_required']);
  assert.deepEqual(ids(evaluateApple(d, iphone({ securityInfo: { HardwareEncryptionCaps: 1, PasscodePresent: true } }))), ['encryption_required']);
  assert.equal(evaluateApple(d, mac()).state, 'compliant');
  assert.deepEqual(ids(evaluateApple(d, mac({ securityInfo: { FDE_Enabled: false } }))), ['encryption_required']);
});

test('Apple minimum OS per platform, required and blocked apps', () => {
  const d = doc({ min_os_version: { ios: '17.10', macos: '14' }, required_apps: { apple: ['com.example.app', 'com.example.vpn'] }, apps: { block: ['com.example.game'] } });
  const e = evaluateApple(d, iphone({ installedApps: [{ Identifier: 'com.example.app' }, { Identifier: 'com.example.game' }] }));
  assert.deepEqual(ids(e), ['min_os_version', 'required_app_missing', 'blocked_app_installed']);
  assert.deepEqual(e.failing.map((r) => r.app ?? r.required), ['17.10', 'com.example.vpn', 'com.example.game']);
  assert.deepEqual(ids(evaluateApple(d, mac({ installedApps: [{ Identifier: 'com.example.app' }, { Identifier: 'com.example.vpn' }] }))), []);
  // Some reported, some not: what fails is said, what is missing keeps it from being compliant.
  assert.equal(evaluateApple(d, iphone({ osVersion: '18.0', installedApps: null })).state, 'unknown');
  assert.equal(evaluateApple(d, iphone({ osVersion: '16.7', installedApps: null })).state, 'noncompliant');
});

test('a personal device under passcode_only is judged on the passcode alone', () => {
  const d = doc({ passcode: { required: true }, min_os_version: { ios: '99' }, personal_devices: 'passcode_only' });
  assert.equal(evaluateApple(d, iphone({ ownership: 'personal' })).state, 'compliant');
  assert.deepEqual(ids(evaluateApple(d, iphone())), ['min_os_version']);
});

test("Android: each of Google's non-compliance details is a rule; minimum release; a reported patch level", () => {
  const d = doc({ min_os_version: { android: '14' } });
  const e = evaluateAndroid(d, pixel({ policyCompliant: false, nonComplianceDetails: [{ settingName: 'applications', nonComplianceReason: 'APP_NOT_INSTALLED', packageName: 'com.example.vpn' }] }));
  assert.deepEqual(e.failing, [
    { id: 'android_setting_noncompliant', message: 'applications (com.example.vpn): the app it needs is not installed', setting: 'applications', reason: 'APP_NOT_INSTALLED', app: 'com.example.vpn' },
  ]);
  assert.deepEqual(ids(evaluateAndroid(d, pixel({ androidVersion: '13' }))), ['min_os_version']);
  assert.deepEqual(ids(evaluateAndroid(d, pixel({ securityPatchLevel: null }))), ['security_patch_level']);
  assert.equal(evaluateAndroid(d, pixel()).state, 'compliant');
});

test('the failing-rule set is compared whatever the order', () => {
  const a = [{ id: 'x', message: '' }, { id: 'y', message: '', app: 'a' }];
  assert.equal(ruleKey(a), ruleKey([...a].reverse()));
  assert.notEqual(ruleKey(a), ruleKey([{ id: 'y', message: '', app: 'b' }, { id: 'x', message: '' }]));
});
