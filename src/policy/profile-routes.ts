import { Hono } from 'hono';
import type { ApiEnv } from '../api/auth.ts';
import { iso } from '../api/http.ts';
import type { PolicyProfileRepo } from '../apple/policy-profile-repo.ts';
import type { AppleRepo } from '../apple/repo.ts';
import { AppError } from '../errors.ts';
import { profileJson } from './enforce-apple.ts';

/** An Apple device's record, for routes that only Apple devices have; 404 naming where an Android device's answer is. */
export function appleDevice(repo: AppleRepo, id: string) {
  const device = repo.device(id);
  if (!device) throw new AppError('device_not_found', `no Apple device ${id} (an Android device's profiles and apps are its policy: see /devices/${id}/effective-policy)`, 404);
  return device;
}

/**
 * `/api/v1/devices/:id/profiles`: an Apple device's configuration profiles from both sides — the
 * policy profiles we asked it to have, each pending / installed / failed (with the device's error)
 * / removing, and what its last ProfileList said it has.
 */
export function deviceProfileRoutes(deps: { apple: AppleRepo; profiles: PolicyProfileRepo }) {
  const app = new Hono<ApiEnv>();
  app.get('/devices/:id/profiles', (c) => {
    const id = c.req.param('id');
    const device = appleDevice(deps.apple, id);
    const ours = deps.profiles.ofDevice(id);
    const policyOf = new Map(ours.map((r) => [r.identifier, r.policyId]));
    const reported = Array.isArray(device.profiles) ? (device.profiles as Array<Record<string, unknown>>) : null;
    return c.json({
      device_id: id,
      policy_profiles: ours.map(profileJson),
      // Null until the device has answered a ProfileList.
      installed: reported?.map((p) => ({
        identifier: p.PayloadIdentifier ?? null,
        display_name: p.PayloadDisplayName ?? null,
        uuid: p.PayloadUUID ?? null,
        managed: p.IsManaged === true,
        policy_id: policyOf.get(String(p.PayloadIdentifier)) ?? null,
        payload_types: Array.isArray(p.PayloadContent) ? (p.PayloadContent as Array<Record<string, unknown>>).map((x) => x.PayloadType) : [],
      })) ?? null,
      inventory_updated_at: iso(device.inventoryUpdatedAt),
    });
  });
  return app;
}
