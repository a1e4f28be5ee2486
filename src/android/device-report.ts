import { z } from 'zod';

/**
 * The part of Google's Device we store, read loosely: a report is stored even when Google adds
 * fields or leaves some out (a device still provisioning has no hardware report yet).
 */
const Info = z.record(z.string(), z.unknown());
export const DeviceReport = z.looseObject({
  name: z.string().regex(/^enterprises\/[^/]+\/devices\/[^/]+$/),
  state: z.string().optional(),
  managementMode: z.string().optional(),
  ownership: z.string().optional(),
  enrollmentTokenData: z.string().optional(),
  apiLevel: z.number().int().optional(),
  hardwareInfo: Info.optional(),
  softwareInfo: Info.optional(),
  policyName: z.string().optional(),
  appliedPolicyName: z.string().optional(),
  appliedPolicyVersion: z.string().optional(),
  appliedState: z.string().optional(),
  policyCompliant: z.boolean().optional(),
  nonComplianceDetails: z.array(z.unknown()).optional(),
  enrollmentTime: z.string().optional(),
  lastStatusReportTime: z.string().optional(),
  lastPolicySyncTime: z.string().optional(),
});
export type DeviceReport = z.infer<typeof DeviceReport>;

/** What our enrollment token put in additionalData; Google hands it back as enrollmentTokenData. */
const TokenData = z.object({ enrollment_id: z.string().optional(), user_email: z.string().nullish(), ownership: z.enum(['corporate', 'personal']).optional() });

/** The columns of android_devices that a report sets (everything but id, status and bookkeeping). */
export interface DeviceFacts {
  name: string;
  enterpriseName: string;
  state: string | null;
  ownership: 'corporate' | 'personal' | null;
  managementMode: string | null;
  userEmail: string | null;
  enrollmentTokenId: string | null;
  serialNumber: string | null;
  deviceName: string | null;
  model: string | null;
  brand: string | null;
  manufacturer: string | null;
  androidVersion: string | null;
  securityPatchLevel: string | null;
  apiLevel: number | null;
  policyName: string | null;
  appliedPolicyName: string | null;
  appliedPolicyVersion: string | null;
  appliedState: string | null;
  policyCompliant: boolean | null;
  nonComplianceDetails: unknown[] | null;
  hardwareInfo: Record<string, unknown> | null;
  softwareInfo: Record<string, unknown> | null;
  lastStatusReportAt: number | null;
  lastPolicySyncAt: number | null;
  enrolledAt: number | null;
  /** How new the report is: its last status report, else its enrollment; 0 when it says neither. */
  reportedAt: number;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const time = (v: string | undefined): number | null => {
  if (v === undefined) return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
};
const OWNERSHIP: Record<string, 'corporate' | 'personal'> = { COMPANY_OWNED: 'corporate', PERSONALLY_OWNED: 'personal' };

function tokenData(s: string | undefined): z.infer<typeof TokenData> {
  if (!s) return {};
  try {
    const r = TokenData.safeParse(JSON.parse(s));
    return r.success ? r.data : {};
  } catch {
    // A token made elsewhere (another EMM, the Google Admin console) carries its own data.
    return {};
  }
}

export function factsOf(d: DeviceReport): DeviceFacts {
  const hw = d.hardwareInfo ?? null;
  const sw = d.softwareInfo ?? null;
  const data = tokenData(d.enrollmentTokenData);
  const manufacturer = str(hw?.manufacturer);
  const model = str(hw?.model);
  const lastReport = time(d.lastStatusReportTime);
  const enrolled = time(d.enrollmentTime);
  return {
    name: d.name,
    enterpriseName: d.name.slice(0, d.name.indexOf('/devices/')),
    state: d.state ?? null,
    ownership: OWNERSHIP[d.ownership ?? ''] ?? data.ownership ?? null,
    managementMode: d.managementMode ?? null,
    userEmail: data.user_email ?? null,
    enrollmentTokenId: data.enrollment_id ?? null,
    serialNumber: str(hw?.serialNumber),
    // Google has no device name: the console shows what a person would call it.
    deviceName: model ? [manufacturer, model].filter(Boolean).join(' ') : null,
    model,
    brand: str(hw?.brand),
    manufacturer,
    androidVersion: str(sw?.androidVersion),
    securityPatchLevel: str(sw?.securityPatchLevel),
    apiLevel: d.apiLevel ?? null,
    policyName: d.policyName ?? null,
    appliedPolicyName: d.appliedPolicyName ?? null,
    appliedPolicyVersion: d.appliedPolicyVersion ?? null,
    appliedState: d.appliedState ?? null,
    policyCompliant: d.policyCompliant ?? null,
    nonComplianceDetails: d.nonComplianceDetails ?? null,
    hardwareInfo: hw,
    softwareInfo: sw,
    lastStatusReportAt: lastReport,
    lastPolicySyncAt: time(d.lastPolicySyncTime),
    enrolledAt: enrolled,
    reportedAt: lastReport ?? enrolled ?? 0,
  };
}
