// The zod schemas generated from Google's discovery document: up to date, strict, and naming the field.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { generate } from '../scripts/gen-amapi-types.ts';
import { describeIssue } from '../src/android/amapi/issues.ts';
import { Command, Device, Enterprise, ListDevicesResponse, Operation, Policy } from '../src/android/amapi/schemas.generated.ts';

const root = path.resolve(import.meta.dirname, '..');
const read = (p: string) => fs.readFileSync(path.join(root, p), 'utf8');

test('the committed schemas are what the generator makes from the committed discovery document', () => {
  const discovery = JSON.parse(read('src/android/discovery/androidmanagement-v1.discovery.json'));
  assert.equal(generate(discovery), read('src/android/amapi/schemas.generated.ts'));
});

const refusal = (schema: { safeParse(v: unknown): { success: boolean; error?: Parameters<typeof describeIssue>[0] } }, value: unknown, root: string) => {
  const r = schema.safeParse(value);
  assert.equal(r.success, false, JSON.stringify(value));
  return describeIssue(r.error!, root);
};

test('a policy with the fields we set passes; unknown fields and bad enum values are refused with their path', () => {
  const good = {
    passwordPolicies: [{ passwordMinimumLength: 6, passwordQuality: 'NUMERIC_COMPLEX', passwordScope: 'SCOPE_DEVICE' }],
    maximumTimeToLock: '300000',
    encryptionPolicy: 'ENABLED_WITH_PASSWORD',
    cameraAccess: 'CAMERA_ACCESS_DISABLED',
    screenCaptureDisabled: true,
    factoryResetDisabled: false,
    applications: [{ packageName: 'com.example.app', installType: 'FORCE_INSTALLED' }],
    playStoreMode: 'WHITELIST',
    statusReportingSettings: { softwareInfoEnabled: true, applicationReportsEnabled: true },
    policyEnforcementRules: [{ settingName: 'passwordPolicies', blockAction: { blockAfterDays: 0 }, wipeAction: { wipeAfterDays: 3 } }],
  };
  const ok = Policy.safeParse(good);
  assert.ok(ok.success, ok.error && describeIssue(ok.error, 'policy'));
  assert.match(refusal(Policy, { ...good, applications: [{ packageName: 'a.b', installType: 'SOMETIMES' }] }, 'policy'), /^policy\.applications\[0\]\.installType: /);
  assert.equal(refusal(Policy, { ...good, applications: [{ packageName: 'a.b', colour: 'red' }] }, 'policy'), 'policy.applications[0].colour: unknown field');
  assert.equal(refusal(Policy, { kioskCustomLauncherEnabled: true }, 'policy'), 'policy.kioskCustomLauncherEnabled: unknown field');
  assert.match(refusal(Policy, { maximumTimeToLock: 300000 }, 'policy'), /^policy\.maximumTimeToLock: /);
  assert.match(refusal(Policy, { cameraAccess: 'camera_access_disabled' }, 'policy'), /^policy\.cameraAccess: .*CAMERA_ACCESS_DISABLED/);
  assert.match(refusal(Enterprise, { enabledNotificationTypes: ['ENROLLMENT', 'NOPE'] }, 'enterprise'), /^enterprise\.enabledNotificationTypes\[1\]: /);
});

test('devices, commands and operations: the generated schemas are strict too', () => {
  const device = {
    name: 'enterprises/LC1/devices/3abc',
    managementMode: 'PROFILE_OWNER',
    ownership: 'PERSONALLY_OWNED',
    state: 'ACTIVE',
    policyCompliant: false,
    nonComplianceDetails: [{ settingName: 'passwordPolicies', nonComplianceReason: 'USER_ACTION' }],
    appliedPolicyVersion: '3',
    lastStatusReportTime: '2026-06-01T10:00:00.123Z',
    hardwareInfo: { serialNumber: 'R1', model: 'Pixel 8' },
    softwareInfo: { androidVersion: '15', securityPatchLevel: '2026-05-05' },
  };
  const ok = Device.safeParse(device);
  assert.ok(ok.success, ok.error && describeIssue(ok.error, 'device'));
  assert.ok(ListDevicesResponse.safeParse({ devices: [device], nextPageToken: 'x' }).success);
  assert.equal(refusal(Device, { ...device, hardwareInfo: { colour: 'blue' } }, 'device'), 'device.hardwareInfo.colour: unknown field');
  assert.match(refusal(Device, { ...device, managementMode: 'OWNER' }, 'device'), /^device\.managementMode: /);
  assert.match(refusal(Device, { ...device, appliedPolicyVersion: 3 }, 'device'), /^device\.appliedPolicyVersion: /);
  assert.ok(Command.safeParse({ type: 'START_LOST_MODE', startLostModeParams: { lostMessage: { defaultMessage: 'Call' } } }).success);
  assert.match(refusal(Command, { type: 'SELF_DESTRUCT' }, 'command'), /^command\.type: /);
  assert.equal(refusal(Command, { type: 'LOCK', force: true }, 'command'), 'command.force: unknown field');
  assert.match(refusal(Command, { type: 'RESET_PASSWORD', resetPasswordFlags: ['NOW'] }, 'command'), /^command\.resetPasswordFlags\[0\]: /);
  assert.ok(Operation.safeParse({ name: 'enterprises/LC1/devices/3abc/operations/1', done: true, metadata: { type: 'LOCK' } }).success);
  assert.equal(refusal(Operation, { name: 'x', finished: true }, 'operation'), 'operation.finished: unknown field');
});
