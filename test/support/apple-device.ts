// A simulated Apple device for tests: a real RSA identity from our SCEP server, and MDM messages
// signed the way devices sign them (Mdm-Signature: detached CMS over the body).
import crypto from 'node:crypto';
import * as plist from 'plist';
import { signSignedData, type Signer } from '../../src/pki/cms.ts';
import { buildCsr, getCaCerts, issuedSigner, MessageType, newDevice, pkiRequest, postPki, readCertRep, type Device } from './scep-client.ts';

export type Dict = Record<string, unknown>;

export class AppleDevice {
  readonly udid = crypto.randomUUID().toUpperCase();
  readonly serial = crypto.randomBytes(6).toString('hex').toUpperCase();
  readonly token = crypto.randomBytes(32);
  readonly pushMagic = crypto.randomUUID().toUpperCase();
  identity!: Signer;
  key!: Device;

  constructor(readonly url: string) {}

  /** SCEP enrollment with a challenge, as the profile's SCEP payload makes a device do. */
  async scepEnroll(challenge: string, key: Device = newDevice()): Promise<void> {
    this.key = key;
    const ca = await getCaCerts(this.url);
    const req = pkiRequest({ signer: key.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq, payload: buildCsr(key, { cn: `device-${this.udid}`, challenge }) });
    const rep = readCertRep(Buffer.from(await (await postPki(this.url, req.der)).arrayBuffer()), ca.ra, key.selfSigned);
    if (rep.status !== '0') throw new Error(`SCEP enrollment failed: failInfo ${rep.failInfo}`);
    this.identity = issuedSigner(key, rep.certs[0]!);
  }

  async send(dict: Dict, o: { checkin?: boolean; identity?: Signer | null; body?: Buffer; path?: string; headers?: Record<string, string> } = {}) {
    const body = o.body ?? Buffer.from(plist.build(dict as plist.PlistValue));
    const identity = o.identity === undefined ? this.identity : o.identity;
    const headers: Record<string, string> = {
      'content-type': o.checkin ? 'application/x-apple-aspen-mdm-checkin' : 'application/x-apple-aspen-mdm',
      ...(identity ? { 'mdm-signature': signSignedData(identity, body, { detached: true }).toString('base64') } : {}),
      ...o.headers,
    };
    const res = await fetch(`${this.url}${o.path ?? (o.checkin ? '/mdm/checkin' : '/mdm')}`, { method: 'PUT', headers, body });
    const bytes = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get('content-type') ?? '';
    const parsed = bytes.length && type.includes('xml') ? (plist.parse(bytes.toString('utf8')) as Dict) : null;
    return { status: res.status, body: bytes, plist: parsed, type };
  }

  checkin(messageType: string, extra: Dict = {}, o: Parameters<AppleDevice['send']>[1] = {}) {
    return this.send({ MessageType: messageType, UDID: this.udid, Topic: 'com.apple.mgmt.External.test', ...extra }, { ...o, checkin: true });
  }

  authenticate(o: Parameters<AppleDevice['send']>[1] = {}) {
    return this.checkin('Authenticate', { SerialNumber: this.serial, DeviceName: 'Test iPhone', Model: 'iPhone15,2', ModelName: 'iPhone', ProductName: 'iPhone15,2', OSVersion: '17.5', BuildVersion: '21F79' }, o);
  }

  tokenUpdate(o: Parameters<AppleDevice['send']>[1] = {}) {
    return this.checkin('TokenUpdate', { Token: this.token, PushMagic: this.pushMagic, UnlockToken: crypto.randomBytes(64) }, o);
  }

  /** Idle, or the answer to a command; returns the next command the server sends, if any. */
  report(status: string, extra: Dict = {}) {
    return this.send({ UDID: this.udid, Status: status, ...extra });
  }
}

/** What a device would answer to each inventory command. */
export function answerFor(device: AppleDevice, command: Dict): Dict {
  const c = command.Command as Dict;
  const base = { UDID: device.udid, CommandUUID: command.CommandUUID, Status: 'Acknowledged', RequestType: c.RequestType };
  switch (c.RequestType) {
    case 'DeviceInformation':
      return {
        ...base,
        QueryResponses: {
          DeviceName: 'Test iPhone',
          Model: 'iPhone15,2',
          ModelName: 'iPhone',
          ProductName: 'iPhone15,2',
          OSVersion: '17.5.1',
          BuildVersion: '21F90',
          SerialNumber: device.serial,
          UDID: device.udid,
          DeviceCapacity: 128.0,
          AvailableDeviceCapacity: 87.5,
          BatteryLevel: 0.8,
          IsSupervised: false,
        },
      };
    case 'SecurityInfo':
      return { ...base, SecurityInfo: { HardwareEncryptionCaps: 3, PasscodePresent: true, PasscodeCompliant: true, PasscodeCompliantWithProfiles: true } };
    case 'InstalledApplicationList':
      return { ...base, InstalledApplicationList: [{ Identifier: 'com.example.app', Name: 'Example', ShortVersion: '1.2', Version: '12', BundleSize: 1234567 }] };
    case 'ProfileList':
      return { ...base, ProfileList: [{ PayloadIdentifier: 'com.example.mdm', PayloadDisplayName: 'MDM', PayloadUUID: crypto.randomUUID(), IsManaged: true, SignerCertificates: [Buffer.from('x')] }] };
    case 'CertificateList':
      return { ...base, CertificateList: [{ CommonName: 'device', IsIdentity: true, Data: device.identity.cert.der }] };
    default:
      return base;
  }
}
