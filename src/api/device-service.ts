import { AppError } from '../errors.ts';
import type { AppleRepo } from '../apple/repo.ts';
import { iso } from './http.ts';

export const DEVICE_PLATFORMS = ['ios', 'ipados', 'macos', 'tvos', 'watchos', 'visionos'] as const;

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

/** Devices as the API shows them: a paged listing, one device with its inventory and channels; and removal. */
export function createDeviceViews(repo: AppleRepo, now: () => number = Date.now) {
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

    /** One page, and the last id on it when another page may follow. */
    list(o: { limit: number; afterId?: string; platform?: string; enrolled?: boolean }) {
      // One row more than asked tells whether there is a next page without a second query.
      const rows = repo.listDevices({ ...o, limit: o.limit + 1 });
      const page = rows.slice(0, o.limit);
      return { devices: page.map(summary), lastId: rows.length > o.limit ? page[page.length - 1]!.id : null };
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
