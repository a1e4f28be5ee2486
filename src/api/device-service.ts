import { AppError } from '../errors.ts';
import type { AppleRepo } from '../apple/repo.ts';
import type { AndroidDeviceRepo, AndroidDeviceRow } from '../android/device-repo.ts';
import { iso } from './http.ts';

export const DEVICE_PLATFORMS = ['ios', 'ipados', 'macos', 'tvos', 'watchos', 'visionos', 'android'] as const;

type ListedRow = ReturnType<AppleRepo['listDevices']>[number];

const summary = (r: ListedRow) => ({
  id: r.id,
  udid: r.udid,
  serial_number: r.serialNumber,
  device_name: r.deviceName,
  model: r.model,
  os_version: r.osVersion,
  platform: r.platform,
  /** The device channel's id: the target of device commands. */
  enrollment_id: r.enrollmentStatus === null ? null : r.id,
  enrollment_status: r.enrollmentStatus,
  ownership: r.ownership,
  user_email: r.userEmail,
  last_seen_at: iso(r.lastSeenAt),
  enrolled_at: iso(r.enrolledAt),
});

/** An Android device in the list: the same fields as an Apple one, with Google's name beside. */
const androidSummary = (r: AndroidDeviceRow) => ({
  id: r.id,
  udid: null,
  serial_number: r.serialNumber,
  device_name: r.deviceName,
  model: r.model,
  os_version: r.androidVersion,
  platform: 'android' as string | null,
  enrollment_id: null,
  enrollment_status: r.status as string | null,
  ownership: r.ownership,
  user_email: r.userEmail,
  last_seen_at: iso(r.lastStatusReportAt),
  enrolled_at: iso(r.enrolledAt),
  google_name: r.name,
  management_mode: r.managementMode,
  policy_compliant: r.policyCompliant,
});

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** One Android device in full: what Google last reported, as stored. */
export function androidDetails(r: AndroidDeviceRow) {
  return {
    ...androidSummary(r),
    state: r.state,
    status: r.status,
    enrollment_token_id: r.enrollmentTokenId,
    brand: r.brand,
    manufacturer: r.manufacturer,
    security_patch_level: r.securityPatchLevel,
    api_level: r.apiLevel,
    policy: { name: r.policyName, applied_name: r.appliedPolicyName, applied_version: r.appliedPolicyVersion, applied_state: r.appliedState },
    non_compliance_details: (r.nonComplianceDetails ?? []) as unknown[],
    hardware_info: (r.hardwareInfo ?? null) as Record<string, unknown> | null,
    software_info: (r.softwareInfo ?? null) as Record<string, unknown> | null,
    last_status_report_at: iso(r.lastStatusReportAt),
    last_policy_sync_at: iso(r.lastPolicySyncAt),
    removed_at: iso(r.removedAt),
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}
export type AndroidDeviceDetails = ReturnType<typeof androidDetails>;

/** Devices as the API shows them: a paged listing, one device with its inventory and channels; and removal. */
export function createDeviceViews(repo: AppleRepo, android: AndroidDeviceRepo, now: () => number = Date.now) {
  return {
    /** AppError device_not_found unless the device has its device channel (same id); its inventory is not read. */
    requireChannel(id: string): void {
      if (!repo.binding(id)) throw new AppError('device_not_found', `no device ${id}`, 404);
    },

    /**
     * Takes a device out of management: every channel marked removed, its queue cancelled. The
     * device learns it at its next check-in (403 com.apple.unrecognized.device) and unenrolls;
     * its record and history stay. Removing it again changes nothing.
     */
    remove(id: string) {
      this.requireChannel(id);
      const r = repo.removeDevice(id, now());
      return { id, status: 'removed' as const, enrollments: r.enrollments, cancelled_commands: r.cancelled, channels: r.ids };
    },

    /** One page of both platforms in id order (each table read from the cursor on, limited), and the last id on it when another page may follow. */
    list(o: { limit: number; afterId?: string; platform?: string; enrolled?: boolean }) {
      // One row more than asked tells whether there is a next page without a second query.
      const q = { ...o, limit: o.limit + 1 };
      const rows = [
        ...(o.platform === 'android' ? [] : repo.listDevices(q).map(summary)),
        ...(o.platform === undefined || o.platform === 'android' ? android.list(q).map(androidSummary) : []),
      ].sort(byId);
      const page = rows.slice(0, o.limit);
      return { devices: page, lastId: rows.length > o.limit ? page[page.length - 1]!.id : null };
    },

    isAndroid(id: string): boolean {
      return android.device(id) !== undefined;
    },

    /** An Apple device as get() shows it, or an Android one; AppError device_not_found. */
    any(id: string) {
      const a = android.device(id);
      if (a) return { platform: 'android' as const, device: androidDetails(a) };
      return { platform: 'apple' as const, device: this.get(id) };
    },

    get(id: string) {
      const d = repo.device(id);
      if (!d) throw new AppError('device_not_found', `no device ${id}`, 404);
      const channels = repo.enrollmentsOfDevice(id);
      const main = channels.find((e) => e.id === id);
      const info = (d.deviceInformation ?? null) as Record<string, unknown> | null;
      const lastSeen = Math.max(0, ...channels.map((e) => e.lastSeenAt ?? 0));
      return {
        ...summary({
          ...d,
          enrollmentStatus: main?.status ?? null,
          ownership: main?.ownership ?? null,
          userEmail: main?.userEmail ?? null,
          lastSeenAt: main?.lastSeenAt ?? null,
          enrolledAt: main?.enrolledAt ?? null,
        }),
        model_name: d.modelName,
        product_name: d.productName,
        build_version: d.buildVersion,
        supervised: typeof info?.IsSupervised === 'boolean' ? info.IsSupervised : null,
        // Any channel checking in means the device was there.
        last_seen_at: iso(lastSeen || null),
        created_at: iso(d.createdAt),
        channels: channels.map((e) => ({
          enrollment_id: e.id,
          type: e.type,
          status: e.status,
          ownership: e.ownership,
          user_email: e.userEmail,
          user_short_name: e.userShortName,
          user_long_name: e.userLongName,
          push_ready: e.pushToken !== null && e.pushMagic !== null,
          last_push_at: iso(e.lastPushAt),
          last_push_result: e.lastPushResult,
          // A permanent APNs refusal: no pushes to this channel until it sends a new TokenUpdate.
          push_blocked: e.pushBlocked,
          authenticated_at: iso(e.authenticatedAt),
          enrolled_at: iso(e.enrolledAt),
          unenrolled_at: iso(e.unenrolledAt),
          last_seen_at: iso(e.lastSeenAt),
        })),
        inventory: {
          updated_at: iso(d.inventoryUpdatedAt),
          device_information: d.deviceInformation ?? null,
          security_info: d.securityInfo ?? null,
          installed_apps: d.installedApps ?? null,
          profiles: d.profiles ?? null,
          certificates: d.certificates ?? null,
        },
      };
    },
  };
}

export type DeviceViews = ReturnType<typeof createDeviceViews>;
