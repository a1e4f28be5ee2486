import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'plist';
import { ALL_ACCESS_RIGHTS, AccessRight } from '../src/apple/commands/access-rights.ts';
import { buildCommand } from '../src/apple/commands/build.ts';
import { commandSpec } from '../src/apple/commands/catalog.ts';
import { commandPlistXml } from '../src/apple/commands/plist-xml.ts';
import { checkSupport, type DeviceFacts } from '../src/apple/commands/support.ts';
import { compareVersions } from '../src/versions.ts';
import type { KeyNode } from '../src/apple/commands/types.ts';
import { validateParams } from '../src/apple/commands/validate.ts';
import { isAppError } from '../src/errors.ts';
import { peer } from './support/peers.ts';

const xmlOf = (c: { plistXml: Buffer }) => c.plistXml.toString('utf8');
const commandOf = (c: { plistXml: Buffer }) => (parse(xmlOf(c)) as { Command: Record<string, unknown> }).Command;

function refusal(fn: () => unknown, code = 'invalid_command_params'): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isAppError(e), `not an AppError: ${e}`);
    assert.equal(e.code, code);
    return e.message;
  }
  assert.fail('accepted');
}

describe('building known commands', () => {
  test('DeviceInformation with Queries', () => {
    const c = buildCommand('DeviceInformation', { Queries: ['UDID', 'OSVersion', 'SerialNumber'] }, { uuid: 'cmd-1' });
    assert.equal(c.uuid, 'cmd-1');
    assert.deepEqual(parse(xmlOf(c)), { CommandUUID: 'cmd-1', Command: { RequestType: 'DeviceInformation', Queries: ['UDID', 'OSVersion', 'SerialNumber'] } });
    assert.match(xmlOf(c), /<key>Queries<\/key>\s*<array>\s*<string>UDID<\/string>/);
    assert.match(refusal(() => buildCommand('DeviceInformation', { Queries: ['UDID', 'OSVersion', 'ShoeSize'] })), /^Command\.Queries\[2\]: must be one of "UDID", /);
    assert.match(refusal(() => buildCommand('DeviceInformation', {})), /^Command\.Queries: is required$/);
    assert.match(refusal(() => buildCommand('DeviceInformation', { Queries: 'UDID' })), /^Command\.Queries: must be an array, got the string "UDID"$/);
  });

  test('DeviceLock with PIN, Message and PhoneNumber', () => {
    const params = { PIN: '123456', Message: 'Found? Call me.', PhoneNumber: '+44 20 7946 0000' };
    assert.deepEqual(commandOf(buildCommand('DeviceLock', params)), { RequestType: 'DeviceLock', ...params });
    assert.deepEqual(commandOf(buildCommand('DeviceLock')), { RequestType: 'DeviceLock' });
    assert.match(refusal(() => buildCommand('DeviceLock', { PIN: 123456 })), /^Command\.PIN: must be a string, got the integer 123456$/);
    assert.match(refusal(() => buildCommand('DeviceLock', { Pin: '123456' })), /^Command\.Pin: unknown key \(known: Message, PhoneNumber, PIN\)$/);
  });

  test('EraseDevice, plain and with its macOS and Return to Service options', () => {
    assert.deepEqual(commandOf(buildCommand('EraseDevice')), { RequestType: 'EraseDevice' });
    const wifi = Buffer.from('<plist>wifi</plist>');
    const c = buildCommand('EraseDevice', {
      PIN: '123456',
      ObliterationBehavior: 'DoNotObliterate',
      PreserveDataPlan: true,
      ReturnToService: { Enabled: true, WiFiProfileData: wifi },
    });
    assert.match(xmlOf(c), /<key>PreserveDataPlan<\/key>\s*<true\/>/);
    assert.ok(xmlOf(c).includes(`<data>${wifi.toString('base64')}</data>`));
    assert.match(refusal(() => buildCommand('EraseDevice', { ObliterationBehavior: 'Sometimes' })), /^Command\.ObliterationBehavior: must be one of "Default", "DoNotObliterate", "ObliterateWithWarning", "Always"$/);
    assert.match(refusal(() => buildCommand('EraseDevice', { ReturnToService: {} })), /^Command\.ReturnToService\.Enabled: is required$/);
    assert.match(refusal(() => buildCommand('EraseDevice', { PreserveDataPlan: 'yes' })), /^Command\.PreserveDataPlan: must be a boolean/);
  });

  test('InstallProfile with Payload data, as bytes or as base64', () => {
    const profile = Buffer.from('<?xml version="1.0"?><plist version="1.0"><dict/></plist>');
    const fromBuffer = buildCommand('InstallProfile', { Payload: profile }, { uuid: 'p' });
    const fromBytes = buildCommand('InstallProfile', { Payload: new Uint8Array(profile) }, { uuid: 'p' });
    const fromBase64 = buildCommand('InstallProfile', { Payload: profile.toString('base64') }, { uuid: 'p' });
    assert.ok(xmlOf(fromBuffer).includes(`<key>Payload</key>\n      <data>${profile.toString('base64')}</data>`));
    assert.ok(fromBytes.plistXml.equals(fromBuffer.plistXml));
    assert.ok(fromBase64.plistXml.equals(fromBuffer.plistXml));
    assert.ok(Buffer.isBuffer(fromBase64.dict.Command.Payload));
    assert.deepEqual(Buffer.from(commandOf(fromBuffer).Payload as Uint8Array), profile);
    assert.match(refusal(() => buildCommand('InstallProfile', {})), /^Command\.Payload: is required$/);
    assert.match(refusal(() => buildCommand('InstallProfile', { Payload: 'not base64!' })), /^Command\.Payload: must be data \(a Buffer, a Uint8Array or a base64 string\)/);
    assert.match(refusal(() => buildCommand('InstallProfile', { Payload: { data: 'x' } })), /^Command\.Payload: must be data/);
  });

  test('InstalledApplicationList with identifiers and items', () => {
    const c = buildCommand('InstalledApplicationList', { Identifiers: ['com.example.app'], ManagedAppsOnly: true, Items: ['Name', 'Version'] });
    assert.deepEqual(commandOf(c), { RequestType: 'InstalledApplicationList', Identifiers: ['com.example.app'], ManagedAppsOnly: true, Items: ['Name', 'Version'] });
    assert.match(refusal(() => buildCommand('InstalledApplicationList', { Items: ['Name', 'Colour'] })), /^Command\.Items\[1\]: must be one of "AdHocCodeSigned", /);
    assert.match(refusal(() => buildCommand('InstalledApplicationList', { Identifiers: ['a', 7] })), /^Command\.Identifiers\[1\]: must be a string/);
    // The response schema, for whoever parses the answers.
    const item = commandSpec('InstalledApplicationList').responseKeys[0]!.subkeys![0]!;
    assert.equal(item.type, 'dictionary');
    assert.equal(item.subkeys!.find((k) => k.key === 'BundleSize')?.type, 'integer');
  });

  test('SecurityInfo, ProfileList and CertificateList', () => {
    assert.deepEqual(commandOf(buildCommand('SecurityInfo')), { RequestType: 'SecurityInfo' });
    assert.match(refusal(() => buildCommand('SecurityInfo', { Verbose: true })), /^Command\.Verbose: unknown key \(this takes no parameters\)$/);
    for (const t of ['ProfileList', 'CertificateList']) {
      assert.deepEqual(commandOf(buildCommand(t, { ManagedOnly: true })), { RequestType: t, ManagedOnly: true });
      assert.match(refusal(() => buildCommand(t, { ManagedOnly: 1 })), /^Command\.ManagedOnly: must be a boolean, got the integer 1$/);
    }
    const cert = commandSpec('CertificateList').responseKeys[0]!;
    assert.deepEqual(
      cert.subkeys![0]!.subkeys!.map((k) => [k.key, k.type]),
      [['CommonName', 'string'], ['IsIdentity', 'boolean'], ['Data', 'data']],
    );
  });

  test('Settings picks each element\'s shape by its Item', () => {
    const c = buildCommand('Settings', {
      Settings: [
        { Item: 'DeviceName', DeviceName: 'Reception iPad' },
        { Item: 'Bluetooth', Enabled: false },
        { Item: 'ApplicationConfiguration', Identifier: 'com.example.app', Configuration: { server: 'https://x', retries: 3, ratio: 0.25, beta: true } },
      ],
    });
    assert.match(xmlOf(c), /<key>retries<\/key>\s*<integer>3<\/integer>\s*<key>ratio<\/key>\s*<real>0.25<\/real>/);
    assert.match(refusal(() => buildCommand('Settings', { Settings: [{ Item: 'Bluetooth' }] })), /^Command\.Settings\[0\]\.Enabled: is required$/);
    assert.match(refusal(() => buildCommand('Settings', { Settings: [{ Item: 'Bluetooth', Enabled: true, DeviceName: 'x' }] })), /^Command\.Settings\[0\]\.DeviceName: unknown key/);
    assert.match(refusal(() => buildCommand('Settings', { Settings: [{ Enabled: true }] })), /^Command\.Settings\[0\]\.Item: is required$/);
    assert.match(refusal(() => buildCommand('Settings', { Settings: [{ Item: 'Wallpaper', Image: Buffer.from('x'), Where: 4 }] })), /^Command\.Settings\[0\]\.Where: must be one of 1, 2, 3$/);
  });

  test('dates take a Date or an ISO 8601 string with a zone; integers refuse fractions', () => {
    // No command parameter is a <date> or <real> today; the checks are exercised on a schema of our own.
    const keys: KeyNode[] = [
      { key: 'When', type: 'date', presence: 'optional' },
      { key: 'Count', type: 'integer', presence: 'optional', range: { min: 0, max: 10 } },
    ];
    assert.deepEqual(validateParams(keys, { When: '2024-05-01T12:00:00+02:00' }).value, { When: new Date('2024-05-01T10:00:00Z') });
    assert.match(refusal(() => validateParams(keys, { When: '2024-05-01' })), /^Command\.When: must be a date/);
    assert.match(refusal(() => validateParams(keys, { When: new Date(NaN) })), /^Command\.When: must be a date/);
    assert.match(refusal(() => validateParams(keys, { Count: 2.5 })), /^Command\.Count: must be an integer, got the number 2.5$/);
    assert.match(refusal(() => validateParams(keys, { Count: 11 })), /^Command\.Count: must be between 0 and 10$/);
    assert.match(refusal(() => validateParams(keys, { Count: 2 ** 60 })), /^Command\.Count: must be an integer/);
  });

  test('<real> keys are written as <real> even when whole, which the plist library alone would not do', (t) => {
    const keys: KeyNode[] = [
      { key: 'Ratio', type: 'real', presence: 'required' },
      { key: 'Count', type: 'integer', presence: 'required' },
      { key: 'Points', type: 'array', presence: 'optional', subkeys: [{ key: 'Point', type: 'real', presence: 'optional' }] },
      { key: 'Box', type: 'dictionary', presence: 'optional', subkeys: [{ key: 'Side', type: 'real', presence: 'optional' }] },
    ];
    const { value, reals } = validateParams(keys, { Ratio: 1, Count: 1, Points: [2, 2.5], Box: { Side: 3 } }, { RequestType: 'Synthetic' });
    const xml = commandPlistXml({ CommandUUID: 'u', Command: value }, reals).toString('utf8');
    assert.match(xml, /<key>RequestType<\/key>\s*<string>Synthetic<\/string>\s*<key>Ratio<\/key>\s*<real>1<\/real>\s*<key>Count<\/key>\s*<integer>1<\/integer>/);
    assert.match(xml, /<key>Points<\/key>\s*<array>\s*<real>2<\/real>\s*<real>2.5<\/real>\s*<\/array>/);
    assert.match(xml, /<key>Side<\/key>\s*<real>3<\/real>/);
    assert.doesNotMatch(xml, /real-[0-9a-f-]{36}:/);
    assert.deepEqual(parse(xml), { CommandUUID: 'u', Command: { RequestType: 'Synthetic', Ratio: 1, Count: 1, Points: [2, 2.5], Box: { Side: 3 } } });
    assert.match(refusal(() => validateParams(keys, { Ratio: Infinity, Count: 1 })), /^Command\.Ratio: must be a number/);

    const p = peer('plistutil', ['--version']);
    if (!p.ok) return t.skip(p.reason);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-real-'));
    try {
      fs.writeFileSync(path.join(dir, 'in.plist'), xml);
      for (const args of [['-i', 'in.plist', '-o', 'out.bplist'], ['-i', 'out.bplist', '-f', 'xml', '-o', 'back.plist']]) {
        const r = spawnSync('plistutil', args, { cwd: dir, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      }
      const back = fs.readFileSync(path.join(dir, 'back.plist'), 'utf8');
      assert.match(back, /<key>Ratio<\/key>\s*<real>1(\.0+)?<\/real>/);
      assert.match(back, /<key>Count<\/key>\s*<integer>1<\/integer>/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses what is not a command: unknown RequestType, non-dictionary params, null, characters XML cannot carry, a bad CommandUUID', () => {
    assert.match(refusal(() => buildCommand('FormatHardDisk', {}), 'unknown_request_type'), /unknown MDM RequestType "FormatHardDisk"/);
    assert.match(refusal(() => buildCommand('constructor', {}), 'unknown_request_type'), /constructor/);
    assert.match(refusal(() => buildCommand('DeviceLock', [] as unknown as Record<string, unknown>)), /^Command: must be a dictionary, got an array$/);
    assert.match(refusal(() => buildCommand('DeviceLock', { Message: null })), /^Command\.Message: must be a string, got null$/);
    assert.match(refusal(() => buildCommand('DeviceLock', { RequestType: 'EraseDevice' })), /^Command\.RequestType: unknown key/);
    assert.match(refusal(() => buildCommand('DeviceLock', { Message: 'bell\u0007' })), /^Command\.Message: contains a character/);
    assert.match(refusal(() => buildCommand('InstallApplication', { Configuration: { k: () => 1 } })), /^Command\.Configuration\.k: must be a property-list value/);
    assert.match(refusal(() => buildCommand('InstallApplication', { Configuration: { list: [1, undefined] } })), /^Command\.Configuration\.list\[1\]: must be a property-list value/);
    assert.match(refusal(() => buildCommand('DeviceLock', {}, { uuid: 'two words' })), /^CommandUUID: /);
    const proto = buildCommand('InstallApplication', { Configuration: JSON.parse('{"__proto__": {"polluted": true}}') });
    assert.match(xmlOf(proto), /<key>__proto__<\/key>\s*<dict>\s*<key>polluted<\/key>\s*<true\/>/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // Undefined members are simply absent, so optional parameters can be spread in.
    assert.deepEqual(commandOf(buildCommand('DeviceLock', { Message: undefined, PIN: '1234' })), { RequestType: 'DeviceLock', PIN: '1234' });
    const a = buildCommand('DeviceLock');
    const b = buildCommand('DeviceLock');
    assert.notEqual(a.uuid, b.uuid);
    assert.match(a.uuid, /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  });
});

describe('checkSupport', () => {
  const iPhone: DeviceFacts = { platform: 'iOS', osVersion: '17.4.1', channel: 'device', userEnrollment: false, supervised: false, accessRights: ALL_ACCESS_RIGHTS };
  const mac: DeviceFacts = { platform: 'macOS', osVersion: '14.4', channel: 'device', userEnrollment: false, supervised: true, accessRights: ALL_ACCESS_RIGHTS };

  test('EraseDevice needs the erase right: refused with 8191 minus 8, allowed with all rights', () => {
    assert.equal(checkSupport('EraseDevice', iPhone), null);
    const reason = checkSupport('EraseDevice', { ...iPhone, accessRights: ALL_ACCESS_RIGHTS - AccessRight.erase });
    assert.match(reason ?? '', /EraseDevice needs the AllowDeviceErase access right \(8\)/);
    assert.equal(checkSupport('DeviceLock', { ...iPhone, accessRights: ALL_ACCESS_RIGHTS - AccessRight.erase }), null);
    assert.match(checkSupport('DeviceLock', { ...iPhone, accessRights: AccessRight.erase }) ?? '', /AllowPasscodeRemovalAndLock access right \(4\)/);
    // Apple's other spelling of the same right.
    assert.match(checkSupport('SetRecoveryLock', { ...mac, accessRights: AccessRight.erase }) ?? '', /DeviceLockAndRemovePasscode access right \(4\)/);
    assert.equal(checkSupport('InstalledApplicationList', { ...iPhone, accessRights: AccessRight.inspectApps }), null);
    assert.equal(checkSupport('ProfileList', { ...iPhone, accessRights: AccessRight.inspectProfiles }), null);
    assert.match(checkSupport('SecurityInfo', { ...iPhone, accessRights: AccessRight.inspectProfiles }) ?? '', /AllowQuerySecurity access right \(1024\)/);
    // DeviceInformation's right depends on each query ("Special Case"): none for the command.
    assert.equal(checkSupport('DeviceInformation', { ...iPhone, accessRights: AccessRight.inspectProfiles }), null);
  });

  test('User Enrollment: forbidden commands are refused, and AccessRights do not apply', () => {
    const byod: DeviceFacts = { ...iPhone, userEnrollment: true, accessRights: 0 };
    assert.match(checkSupport('EraseDevice', byod) ?? '', /not available with User Enrollment/);
    assert.equal(checkSupport('InstallProfile', byod), null);
  });

  test('a supervised-only command on an unsupervised device is refused', () => {
    assert.match(checkSupport('EnableLostMode', iPhone) ?? '', /EnableLostMode needs a supervised device/);
    assert.equal(checkSupport('EnableLostMode', { ...iPhone, supervised: true }), null);
    assert.equal(checkSupport('EnableLostMode', { ...iPhone, supervised: undefined }), null, 'an unknown fact is not checked');
  });

  test('a command the user channel does not take is refused there, and the reverse', () => {
    assert.match(checkSupport('EraseDevice', { ...mac, channel: 'user' }) ?? '', /cannot be sent on the user channel on macOS/);
    assert.equal(checkSupport('DeviceInformation', { ...mac, channel: 'user' }), null);
    assert.match(checkSupport('ActiveNSExtensions', mac) ?? '', /cannot be sent on the device channel on macOS/);
    assert.equal(checkSupport('ActiveNSExtensions', { ...mac, channel: 'user' }), null);
    // On iOS only Shared iPad has a user channel.
    assert.match(checkSupport('DeviceLock', { ...iPhone, channel: 'user' }) ?? '', /user channel on iOS/);
    assert.match(checkSupport('InviteToProgram', { ...iPhone, sharedIPad: true }) ?? '', /device channel on iOS \(Shared iPad\)/);
    assert.equal(checkSupport('InviteToProgram', iPhone), null);
  });

  test('platforms and OS versions', () => {
    assert.match(checkSupport('EnableLostMode', mac) ?? '', /EnableLostMode is not available on macOS/);
    assert.match(checkSupport('UserConfigured', { ...iPhone, supervised: true, osVersion: '16.7.2' }) ?? '', /needs iOS 17.0 or later \(the device runs 16.7.2\)/);
    assert.equal(checkSupport('RefreshCellularPlans', { ...iPhone, osVersion: '13.0' }), null);
    assert.match(checkSupport('ContentCachingInformation', { ...mac, osVersion: '10.15.3' }) ?? '', /needs macOS 10.15.4 or later/);
    assert.equal(checkSupport('ContentCachingInformation', { ...mac, osVersion: '10.15.4' }), null);
    assert.match(checkSupport('UserList', { ...iPhone, sharedIPad: false }) ?? '', /only available on Shared iPad/);
    assert.match(checkSupport('ClearRestrictionsPassword', { ...iPhone, supervised: true, sharedIPad: true }) ?? '', /not available on Shared iPad/);
    assert.match(checkSupport('DeviceConfigured', { ...mac, enrolledViaDEP: false }) ?? '', /Automated Device Enrollment/);
    assert.throws(() => checkSupport('FormatHardDisk', iPhone), (e) => isAppError(e) && e.code === 'unknown_request_type');
    assert.equal(compareVersions('10.13.4', '10.14'), -1);
    assert.equal(compareVersions('10.14', '10.14.0'), 0);
    assert.equal(compareVersions('17.4.1', '9.3'), 1);
  });

  test("each parameter given is checked against its own support: platform, version, supervision, nested keys, Settings items", () => {
    // EraseDevice: PIN is the Mac's (Find My lock PIN), ReturnToService needs iOS 17, PreserveDataPlan is iOS's.
    assert.match(checkSupport('EraseDevice', iPhone, { PIN: '123456' }) ?? '', /EraseDevice parameter PIN is not available on iOS/);
    assert.equal(checkSupport('EraseDevice', mac, { PIN: '123456' }), null);
    assert.match(checkSupport('EraseDevice', mac, { PreserveDataPlan: true }) ?? '', /parameter PreserveDataPlan is not available on macOS/);
    assert.match(checkSupport('EraseDevice', { ...iPhone, osVersion: '16.7' }, { ReturnToService: { Enabled: true } }) ?? '', /parameter ReturnToService needs iOS 17.0 or later \(the device runs 16.7\)/);
    assert.equal(checkSupport('EraseDevice', iPhone, { ReturnToService: { Enabled: true }, PreserveDataPlan: true }), null);
    assert.equal(checkSupport('EraseDevice', { ...iPhone, osVersion: undefined }, { ReturnToService: { Enabled: true } }), null, 'an unknown version is not checked');
    // Nested: InstallApplication's Attributes.Hideable arrived in iOS 18.1.
    assert.match(
      checkSupport('InstallApplication', iPhone, { iTunesStoreID: 1, Attributes: { Hideable: true } }) ?? '',
      /InstallApplication parameter Attributes.Hideable needs iOS 18.1 or later/,
    );
    assert.equal(checkSupport('InstallApplication', { ...iPhone, osVersion: '18.1' }, { iTunesStoreID: 1, Attributes: { Hideable: true } }), null);
    // Settings: each item has its own support; Wallpaper needs supervision.
    const wallpaper = { Item: 'Wallpaper', Image: Buffer.from('x'), Where: 1 };
    assert.match(checkSupport('Settings', iPhone, { Settings: [{ Item: 'DataRoaming', Enabled: true }, wallpaper] }) ?? '', /Settings parameter Settings item Wallpaper needs a supervised device/);
    assert.equal(checkSupport('Settings', { ...iPhone, supervised: true }, { Settings: [wallpaper] }), null);
    assert.match(checkSupport('Settings', mac, { Settings: [{ Item: 'DataRoaming', Enabled: true }] }) ?? '', /Settings item DataRoaming is not available on macOS/);
    // A query a device has no answer for is left out by the device, not refused here.
    assert.equal(checkSupport('DeviceInformation', mac, { Queries: ['IMEI', 'OSVersion'] }), null);
    // The command's own refusal comes first.
    assert.match(checkSupport('EnableLostMode', mac, { Message: 'lost' }) ?? '', /EnableLostMode is not available on macOS/);
  });
});
