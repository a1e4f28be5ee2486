// A simulated Apple device: a real RSA identity from the appliance's SCEP server, and MDM
// messages signed the way devices sign them (Mdm-Signature: detached CMS over the body).
import crypto from 'node:crypto';
import * as plist from 'plist';
import { signSignedData, type Signer } from '../../pki/cms.ts';
import { OID } from '../../pki/x509.ts';
import { decodePlist, type PlistDict } from '../plist.ts';
import type { EnrollmentProfile } from './enrollment-profile.ts';
import { createHttpClient, type HttpClient, type HttpReply } from './http.ts';
import { randomPersona, serialNumber, udidFor, type Persona } from './persona.ts';
import { buildCsr, issuedSigner, MessageType, newDevice, pkiRequest, readCaCerts, readCertRep, type Device } from './scep-client.ts';

export type Dict = Record<string, unknown>;

export interface SendOptions {
  checkin?: boolean;
  /** The signing identity; null sends the message unsigned. */
  identity?: Signer | null;
  /** The exact body, instead of `dict` as a plist. */
  body?: Buffer;
  /** A path on the device's base URL, instead of its ServerURL or CheckInURL. */
  path?: string;
  headers?: Record<string, string>;
}

export interface MdmReply {
  status: number;
  body: Buffer;
  /** The answer as a dictionary, when it is a plist (a command, or a GetBootstrapToken answer). */
  plist: Dict | null;
  type: string;
}

export interface DeviceOptions {
  persona?: Persona;
  http?: HttpClient;
  /** The push topic for Authenticate and TokenUpdate; an enrollment profile overrides it. */
  topic?: string;
}

// The short names an enrollment profile's SCEP Subject uses.
const NAME_OIDS: Record<string, string> = { CN: OID.commonName, O: OID.organization, OU: OID.organizationalUnit, C: OID.country };

let sharedHttp: HttpClient | undefined;

export class AppleDevice {
  readonly persona: Persona;
  readonly udid: string;
  readonly serial = serialNumber();
  readonly token = crypto.randomBytes(32);
  readonly pushMagic = crypto.randomUUID().toUpperCase();
  identity!: Signer;
  key!: Device;
  serverUrl: string;
  checkInUrl: string;
  topic: string;
  /** The enrollment profile's AccessRights; undefined when enrolled with a bare challenge. */
  accessRights: number | undefined;
  /** The CA certificate a profile installed as trusted. */
  rootDer: Buffer | null = null;
  /** Installed profiles as ProfileList reports them, the enrollment profile first. */
  profiles: PlistDict[];
  /** An EraseDevice was carried out: the device is gone from management. */
  erased = false;
  /** What each installed profile's passcode payloads ask (minLength, requireAlphanumeric, forcePIN), by profile identifier. */
  readonly passcodeRules = new Map<string, Array<{ forcePIN: boolean; minLength: number; requireAlphanumeric: boolean }>>();
  /** Apps installed by InstallApplication, with their ManagementFlags. */
  readonly managedApps = new Map<string, number>();
  /** Its MDM profile was removed (RemoveProfile of the enrollment profile): it should check out. */
  unenrolled = false;
  readonly http: HttpClient;

  /** `url`: the appliance's base URL; SCEP, ServerURL and CheckInURL default to its /scep, /mdm and /mdm/checkin. */
  constructor(
    readonly url: string,
    o: DeviceOptions = {},
  ) {
    // Its own copy: what happens to this device (apps installed, a passcode set) is not another's.
    const persona = o.persona ?? randomPersona();
    this.persona = { ...persona, apps: [...persona.apps] };
    this.udid = udidFor(this.persona.platform);
    this.http = o.http ?? (sharedHttp ??= createHttpClient());
    this.serverUrl = `${url}/mdm`;
    this.checkInUrl = `${url}/mdm/checkin`;
    this.topic = o.topic ?? 'com.apple.mgmt.External.simulator';
    // Enrolled with a bare challenge, the device still lists the (unsigned) profile that carried it.
    const payload = (type: string, id: string) => ({ PayloadType: type, PayloadIdentifier: id, PayloadUUID: crypto.randomUUID().toUpperCase(), PayloadVersion: 1 });
    this.profiles = [
      {
        ...payload('Configuration', 'simulator.enroll'),
        PayloadDisplayName: 'Device management',
        IsManaged: false,
        IsEncrypted: false,
        HasRemovalPasscode: false,
        PayloadRemovalDisallowed: false,
        PayloadContent: [payload('com.apple.security.scep', 'simulator.enroll.scep'), payload('com.apple.mdm', 'simulator.enroll.mdm')],
      },
    ];
  }

  /** Takes the MDM settings of an installed enrollment profile (URLs already where this device reaches them). */
  useProfile(p: EnrollmentProfile, urls: { serverUrl: string; checkInUrl: string }): void {
    this.serverUrl = urls.serverUrl;
    this.checkInUrl = urls.checkInUrl;
    this.topic = p.mdm.topic;
    this.accessRights = p.mdm.accessRights;
    this.rootDer = p.rootDer;
    this.profiles = [p.listing];
  }

  /**
   * SCEP enrollment with a challenge, as the profile's SCEP payload makes a device do: GetCACert
   * (checked against the payload's CAFingerprint when there is one), then a PKCSReq.
   */
  async scepEnroll(
    challenge: string,
    key: Device = newDevice(),
    o: { url?: string; caFingerprint?: Buffer | null; subject?: Array<Array<[string, string]>> } = {},
  ): Promise<void> {
    this.key = key;
    const scepUrl = o.url ?? `${this.url}/scep`;
    const got = await this.http.request(`${scepUrl}?operation=GetCACert`);
    if (got.status !== 200) throw new Error(`GetCACert answered ${got.status}`);
    const ca = readCaCerts(got.body);
    if (o.caFingerprint) {
      const algo = o.caFingerprint.length === 16 ? 'md5' : 'sha1';
      const matches = [ca.caDer, ca.raDer].some((d) => crypto.createHash(algo).update(d).digest().equals(o.caFingerprint!));
      if (!matches) throw new Error("GetCACert's CA does not match the profile's CAFingerprint");
    }
    const subject = o.subject?.flat().map(([name, value]): [string, string] => [NAME_OIDS[name] ?? name, value]);
    const csr = buildCsr(key, { cn: `device-${this.udid}`, subject, challenge });
    const req = pkiRequest({ signer: key.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq, payload: csr });
    const res = await this.http.request(`${scepUrl}?operation=PKIOperation`, { method: 'POST', body: req.der, headers: { 'content-type': 'application/x-pki-message' } });
    if (res.status !== 200) throw new Error(`SCEP PKIOperation answered ${res.status}`);
    const rep = readCertRep(res.body, ca.ra, key.selfSigned);
    if (rep.status !== '0') throw new Error(`SCEP enrollment failed: failInfo ${rep.failInfo}`);
    this.identity = issuedSigner(key, rep.certs[0]!);
  }

  /** The signed HTTP request for a message, ready to send: signing is the device's real cost per message. */
  prepare(dict: Dict, o: SendOptions = {}): { url: string; method: string; headers: Record<string, string>; body: Buffer } {
    const body = o.body ?? Buffer.from(plist.build(dict as plist.PlistValue));
    const identity = o.identity === undefined ? this.identity : o.identity;
    const headers: Record<string, string> = {
      'content-type': o.checkin ? 'application/x-apple-aspen-mdm-checkin' : 'application/x-apple-aspen-mdm',
      ...(identity ? { 'mdm-signature': signSignedData(identity, body, { detached: true }).toString('base64') } : {}),
      ...o.headers,
    };
    const url = o.path !== undefined ? `${this.url}${o.path}` : o.checkin ? this.checkInUrl : this.serverUrl;
    return { url, method: 'PUT', headers, body };
  }

  /** Reads the server's answer to a message. */
  static reply(res: HttpReply): MdmReply {
    const type = String(res.headers['content-type'] ?? '');
    const parsed = res.body.length && type.includes('xml') ? (decodePlist(res.body) as Dict) : null;
    return { status: res.status, body: res.body, plist: parsed, type };
  }

  async send(dict: Dict, o: SendOptions = {}): Promise<MdmReply> {
    const req = this.prepare(dict, o);
    return AppleDevice.reply(await this.http.request(req.url, req));
  }

  checkin(messageType: string, extra: Dict = {}, o: SendOptions = {}): Promise<MdmReply> {
    return this.send({ MessageType: messageType, UDID: this.udid, Topic: this.topic, ...extra }, { ...o, checkin: true });
  }

  authenticate(o: SendOptions = {}): Promise<MdmReply> {
    const p = this.persona;
    const phone = p.imei ? { IMEI: p.imei, MEID: p.imei.replace(/ /g, '').slice(0, 14) } : {};
    return this.checkin(
      'Authenticate',
      { SerialNumber: this.serial, DeviceName: p.deviceName, Model: p.model, ModelName: p.modelName, ProductName: p.productName, OSVersion: p.osVersion, BuildVersion: p.buildVersion, ...phone },
      o,
    );
  }

  tokenUpdate(o: SendOptions = {}): Promise<MdmReply> {
    // Only iOS escrows an UnlockToken (for ClearPasscode).
    const unlock = this.persona.platform === 'iOS' ? { UnlockToken: crypto.randomBytes(64) } : {};
    return this.checkin('TokenUpdate', { Token: this.token, PushMagic: this.pushMagic, AwaitingConfiguration: false, ...unlock }, o);
  }

  /** Idle, or the answer to a command; returns the next command the server sends, if any. */
  report(status: string, extra: Dict = {}): Promise<MdmReply> {
    return this.send({ UDID: this.udid, Status: status, ...extra });
  }
}
