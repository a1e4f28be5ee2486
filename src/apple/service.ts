import crypto from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { EmitEvent } from '../webhooks/events.ts';
import type { PkiRepo } from '../pki/repo.ts';
import type { Sealer } from '../secrets/seal.ts';
import type { DeviceIdentity } from './identity.ts';
import { applyInventory, platformOf } from './inventory.ts';
import { checkinMessage, commandReport, enrollmentOf, type CheckinMessage } from './messages.ts';
import { decodePlist, encodePlist, type PlistDict } from './plist.ts';
import type { BuiltCommand, CommandQueue } from './queue.ts';
import type { AppleRepo, EnrollmentBinding } from './repo.ts';

export interface MdmResponse {
  status: 200 | 400 | 403 | 410;
  body?: Buffer | string;
  contentType?: string;
}

export interface AppleMdmOptions {
  repo: AppleRepo;
  pkiRepo: PkiRepo;
  queue: CommandQueue;
  sealer: Sealer;
  log: Logger;
  /** The commands that fill a new enrollment's inventory. */
  inventoryCommands: () => BuiltCommand[];
  /** Asks for channels to be pushed (APNs). */
  wake?: (enrollmentIds: string[]) => void;
  /** Told enrollments, check-outs and command results (webhooks). Called after the change is stored. */
  emit?: EmitEvent;
  /** Told a device's inventory answer was stored (compliance re-evaluates from it). */
  onInventory?: (deviceId: string, requestType: string) => void;
  /** Told every answer to a command that was pending (policy enforcement tracks its profiles from these). */
  onCommandResult?: (r: { deviceId: string; enrollmentId: string; commandUuid: string; requestType: string; status: string; report: PlistDict }) => void;
  /** Told a device channel enrolled (first TokenUpdate) or checked out, after it is stored. */
  onEnrolled?: (deviceId: string) => void;
  onCheckedOut?: (deviceId: string) => void;
  /** Told each message that passed validation (metrics): a check-in's MessageType, a report's Status. */
  observe?: { checkin(messageType: string): void; report(status: string): void };
  now?: () => number;
}

const refuse = (reason: string) => new AppError('device_refused', reason, 400);
const EMPTY: MdmResponse = { status: 200 };
/**
 * Apple's ErrorUnrecognizedDevice: a 403 with this body makes the device unenroll (a 401 would
 * too, but Apple asks servers to use this). Only ever sent to a device an admin removed.
 */
const UNRECOGNIZED: MdmResponse = {
  status: 403,
  body: JSON.stringify({ code: 'com.apple.unrecognized.device', description: 'this device was removed from management' }),
  contentType: 'application/json',
};
const isDeviceChannel = (e: { type: string }) => e.type === 'device' || e.type === 'user-enrollment-device';

/**
 * The device side of Apple MDM: check-in messages and command reports from an authenticated
 * device identity. Answers are bare statuses (never 401: a device that sees one removes its
 * MDM profile).
 */
export function createAppleMdm(opts: AppleMdmOptions) {
  const { repo, queue, sealer, log } = opts;
  const now = opts.now ?? Date.now;
  // Last-seen times are written at most once a minute per enrollment: a device checking in every
  // few seconds would otherwise turn every check-in into a database write.
  const TOUCH_EVERY = 60_000;
  const touched = new Map<string, number>();
  const touch = (id: string, t: number) => {
    if (t - (touched.get(id) ?? 0) < TOUCH_EVERY) return;
    touched.set(id, t);
    repo.touch(id, t);
  };

  /**
   * The enrollment of a device channel must be bound to this certificate (or to the one it renewed).
   * Returns its binding and status only: that is all a command report needs, and the full row
   * (sealed tokens, user names) would cost every check-in a wider read.
   */
  function authorize(deviceId: string, identity: DeviceIdentity): EnrollmentBinding {
    const device = repo.binding(deviceId);
    if (!device || !device.certSha256) throw refuse(`unknown enrollment ${deviceId}: Authenticate first`);
    if (device.certSha256 === identity.sha256) return device;
    // A device that renewed its identity through SCEP keeps its enrollment.
    const row = opts.pkiRepo.certificate(identity.serial);
    const previous = row?.renewedFrom ? opts.pkiRepo.certificate(row.renewedFrom) : undefined;
    if (previous && crypto.createHash('sha256').update(previous.der).digest('hex') === device.certSha256) {
      repo.updateEnrollment(deviceId, { certSha256: identity.sha256 });
      log.info({ enrollmentId: deviceId, serial: identity.serial }, 'enrollment rebound to a renewed identity certificate');
      return { ...device, certSha256: identity.sha256 };
    }
    throw refuse(`certificate ${identity.serial} is not the one bound to ${deviceId}`);
  }

  function toldToUnenroll(enrollmentId: string, message: string): MdmResponse {
    log.info({ enrollmentId, message }, 'removed device told to unenroll (403 com.apple.unrecognized.device)');
    return UNRECOGNIZED;
  }

  function authenticate(m: Extract<CheckinMessage, { MessageType: 'Authenticate' }>, identity: DeviceIdentity): MdmResponse {
    const e = enrollmentOf(m);
    if (!e || !isDeviceChannel(e)) throw refuse('Authenticate must name a device (UDID or EnrollmentID)');
    const before = repo.binding(e.id);
    // A removed device comes back only through a new enrollment profile, with a new identity.
    if (before?.status === 'removed' && before.certSha256 === identity.sha256) return toldToUnenroll(e.id, 'Authenticate');
    const t = now();
    const others = repo.enrollmentsByCert(identity.sha256).filter((x) => x.deviceId !== e.deviceId);
    if (others.length) throw refuse(`certificate ${identity.serial} is bound to another device (${others[0]!.deviceId})`);
    // The enrollment link that minted this certificate's SCEP challenge tells ownership and user.
    const owner = opts.pkiRepo.certificate(identity.serial)?.owner ?? '';
    const token = owner.startsWith('scep:') ? repo.enrollmentTokenByChallenge(owner.slice(5)) : undefined;
    repo.transaction(() => {
      const existing = repo.enrollment(e.id);
      repo.upsertEnrollment({
        id: e.id,
        type: e.type,
        deviceId: e.deviceId,
        status: 'pending',
        certSha256: identity.sha256,
        topic: m.Topic,
        pushToken: null,
        pushMagic: null,
        enrollmentTokenId: token?.id ?? existing?.enrollmentTokenId ?? null,
        ownership: token?.ownership ?? existing?.ownership ?? 'corporate',
        userEmail: token?.userEmail ?? existing?.userEmail ?? null,
        retireRequestedAt: null,
        authenticatedAt: t,
        lastSeenAt: t,
        createdAt: existing?.createdAt ?? t,
      });
      repo.upsertDevice({
        id: e.deviceId,
        udid: m.UDID ?? null,
        serialNumber: m.SerialNumber,
        deviceName: m.DeviceName,
        model: m.Model,
        modelName: m.ModelName,
        productName: m.ProductName,
        osVersion: m.OSVersion,
        buildVersion: m.BuildVersion,
        // Known from Authenticate already: policies target by platform from the first TokenUpdate on.
        platform: platformOf(m.ProductName, m.Model) ?? undefined,
        createdAt: t,
        updatedAt: t,
      });
      if (token) repo.linkEnrollmentToken(token.id, e.id);
      // A re-enrolling device starts from an empty queue, as NanoMDM does.
      queue.clearPending(e.id);
    });
    log.info({ enrollmentId: e.id, serial: identity.serial }, 'Authenticate');
    return EMPTY;
  }

  function tokenUpdate(m: Extract<CheckinMessage, { MessageType: 'TokenUpdate' }>, identity: DeviceIdentity): MdmResponse {
    const e = enrollmentOf(m)!;
    if (authorize(e.deviceId, identity).status === 'removed') return toldToUnenroll(e.id, 'TokenUpdate');
    const device = repo.enrollment(e.deviceId)!;
    const t = now();
    const existing = e.id === device.id ? device : repo.enrollment(e.id);
    const first = existing?.status !== 'enrolled';
    repo.transaction(() => {
      repo.upsertEnrollment({
        id: e.id,
        type: e.type,
        deviceId: e.deviceId,
        status: 'enrolled',
        certSha256: identity.sha256,
        topic: m.Topic,
        pushToken: m.Token.toString('hex'),
        pushMagic: m.PushMagic,
        // A new token (or the same one, confirmed) is worth pushing to again.
        pushBlocked: null,
        unlockTokenSealed: m.UnlockToken ? sealer.seal(`apple:unlock:${e.id}`, m.UnlockToken) : (existing?.unlockTokenSealed ?? null),
        userShortName: m.UserShortName ?? existing?.userShortName ?? null,
        userLongName: m.UserLongName ?? existing?.userLongName ?? null,
        enrollmentTokenId: existing?.enrollmentTokenId ?? device.enrollmentTokenId,
        ownership: existing?.ownership ?? device.ownership,
        userEmail: existing?.userEmail ?? device.userEmail,
        authenticatedAt: existing?.authenticatedAt ?? null,
        enrolledAt: first ? t : (existing?.enrolledAt ?? t),
        unenrolledAt: null,
        tokenUpdatedAt: t,
        lastSeenAt: t,
        createdAt: existing?.createdAt ?? t,
      });
      if (first && isDeviceChannel(e)) {
        for (const c of opts.inventoryCommands()) queue.enqueue(c, [e.id]);
      }
    });
    log.info({ enrollmentId: e.id, first }, first ? 'enrolled' : 'TokenUpdate');
    if (first && isDeviceChannel(e)) {
      opts.onEnrolled?.(e.deviceId);
      const d = repo.device(e.deviceId);
      opts.emit?.('device.enrolled', {
        device_id: e.deviceId,
        platform: d?.platform ?? 'apple',
        serial_number: d?.serialNumber ?? null,
        enrollment_id: e.id,
        enrollment_type: e.type,
        ownership: device.ownership,
        user_email: device.userEmail,
      });
    }
    return EMPTY;
  }

  function declarativeManagement(m: Extract<CheckinMessage, { MessageType: 'DeclarativeManagement' }>): MdmResponse {
    // Until declarations are built, the device is told there are none, and its status is accepted.
    const token = crypto.createHash('sha256').update('no-declarations').digest('hex');
    const json = (v: unknown): MdmResponse => ({ status: 200, body: JSON.stringify(v), contentType: 'application/json' });
    switch (m.Endpoint) {
      case 'tokens':
        return json({ SyncTokens: { DeclarationsToken: token, Timestamp: new Date(0).toISOString() } });
      case 'declaration-items':
        return json({ Declarations: { Activations: [], Assets: [], Configurations: [], Management: [] }, DeclarationsToken: token });
      case 'status':
        return EMPTY;
      default:
        throw refuse(`unknown DeclarativeManagement endpoint ${m.Endpoint}`);
    }
  }

  function checkin(body: Buffer, identity: DeviceIdentity): MdmResponse {
    const parsed = checkinMessage.safeParse(decodePlist(body));
    if (!parsed.success) throw refuse(`bad check-in message: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
    const m = parsed.data;
    opts.observe?.checkin(m.MessageType);
    const e = enrollmentOf(m);
    if (!e) throw refuse('the message names no device (UDID or EnrollmentID)');
    if (m.MessageType === 'Authenticate') return authenticate(m, identity);
    if (m.MessageType === 'TokenUpdate') return tokenUpdate(m, identity);

    const device = authorize(e.deviceId, identity);
    if (device.status === 'removed') {
      // Its CheckOut after unenrolling is the end of the story, not something to refuse.
      return m.MessageType === 'CheckOut' ? EMPTY : toldToUnenroll(e.id, m.MessageType);
    }
    touch(e.id, now());
    switch (m.MessageType) {
      case 'CheckOut':
        if (isDeviceChannel(e)) repo.unenrollDevice(e.deviceId, now());
        else repo.updateEnrollment(e.id, { status: 'unenrolled', unenrolledAt: now() });
        log.info({ enrollmentId: e.id }, 'CheckOut');
        if (isDeviceChannel(e)) opts.onCheckedOut?.(e.deviceId);
        if (isDeviceChannel(e)) opts.emit?.('device.checked_out', { device_id: e.deviceId, platform: repo.device(e.deviceId)?.platform ?? 'apple', enrollment_id: e.id });
        return EMPTY;
      case 'SetBootstrapToken':
        repo.updateEnrollment(device.id, { bootstrapTokenSealed: m.BootstrapToken ? sealer.seal(`apple:bootstrap:${device.id}`, m.BootstrapToken) : null });
        log.info({ enrollmentId: device.id, cleared: !m.BootstrapToken }, 'bootstrap token escrowed');
        return EMPTY;
      case 'GetBootstrapToken': {
        const sealed = repo.enrollment(device.id)?.bootstrapTokenSealed;
        const out = sealed ? { BootstrapToken: sealer.unseal(`apple:bootstrap:${device.id}`, sealed) } : {};
        return { status: 200, body: encodePlist(out), contentType: 'application/xml' };
      }
      case 'UserAuthenticate':
        // Declined as NanoMDM does: 410 tells macOS not to ask for this user again.
        return { status: 410 };
      case 'GetToken':
        throw refuse('GetToken is not supported');
      case 'DeclarativeManagement':
        return declarativeManagement(m);
    }
  }

  function report(body: Buffer, identity: DeviceIdentity): MdmResponse {
    const dict = decodePlist(body);
    const parsed = commandReport.safeParse(dict);
    if (!parsed.success) throw refuse(`bad command report: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
    const r = parsed.data;
    opts.observe?.report(r.Status);
    const e = enrollmentOf(r);
    if (!e) throw refuse('the report names no device (UDID or EnrollmentID)');
    const device = authorize(e.deviceId, identity);
    if (device.status === 'removed') return toldToUnenroll(e.id, r.Status);
    const enrollment = e.id === device.id ? device : repo.binding(e.id);
    if (!enrollment || enrollment.status !== 'enrolled') throw refuse(`enrollment ${e.id} is not enrolled`);
    const t = now();
    touch(e.id, t);
    if (r.Status !== 'Idle') {
      const requestType = queue.record(e.id, dict, body);
      if (requestType && r.Status === 'Acknowledged' && applyInventory(repo, e.deviceId, requestType, dict, t)) opts.onInventory?.(e.deviceId, requestType);
      if (requestType) opts.onCommandResult?.({ deviceId: e.deviceId, enrollmentId: e.id, commandUuid: String(dict.CommandUUID), requestType, status: r.Status, report: dict });
      if (requestType && r.Status !== 'NotNow') {
        opts.emit?.('command.completed', {
          command_uuid: dict.CommandUUID,
          request_type: requestType,
          status: r.Status,
          device_id: e.deviceId,
          enrollment_id: e.id,
          ...(Array.isArray(dict.ErrorChain) ? { error_chain: dict.ErrorChain } : {}),
        });
      }
    }
    const next = queue.next(e.id, r.Status === 'Idle');
    if (next) return { status: 200, body: next.plist, contentType: 'application/xml' };
    // A device calls back by itself for the commands it answered NotNow only when NotNow was its
    // last answer of the session (Apple's rule). Ending on anything else with such commands
    // waiting, it needs a push: its Idle then gets them offered again.
    if (r.Status !== 'NotNow' && r.Status !== 'Idle' && opts.wake && queue.next(e.id, true)) {
      log.info({ enrollmentId: e.id }, 'session ended with NotNow commands waiting: push requested');
      opts.wake([e.id]);
    }
    return EMPTY;
  }

  return {
    /** One MDM request: a check-in (by its content type) or a command report, from an authenticated identity. */
    handle(kind: 'checkin' | 'report', body: Buffer, identity: DeviceIdentity): MdmResponse {
      return kind === 'checkin' ? checkin(body, identity) : report(body, identity);
    },
  };
}

export type AppleMdm = ReturnType<typeof createAppleMdm>;
