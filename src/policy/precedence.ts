import type { AssignmentRow, DeviceFacts } from './repo.ts';

/**
 * The precedence rule, one policy per device: the most specific target wins — an admin-made
 * group, then the device's platform, then its ownership, then all devices. Between assignments
 * of the same kind the higher priority wins, then the policy name in alphabetical order, so the
 * answer never depends on insertion order.
 */
export const TARGET_RANK: Record<AssignmentRow['target'], number> = { group: 3, platform: 2, ownership: 1, all: 0 };

export interface Candidate {
  assignment: AssignmentRow;
  policyName: string;
  currentVersion: number;
}

export function matches(a: AssignmentRow, device: DeviceFacts, groups: ReadonlySet<string>): boolean {
  switch (a.target) {
    case 'all':
      return true;
    case 'ownership':
      return device.ownership !== null && a.value === device.ownership;
    case 'platform':
      return device.platform !== null && a.value === device.platform;
    case 'group':
      return a.groupId !== null && groups.has(a.groupId);
  }
}

export function compareCandidates(x: Candidate, y: Candidate): number {
  return (
    TARGET_RANK[y.assignment.target] - TARGET_RANK[x.assignment.target] ||
    y.assignment.priority - x.assignment.priority ||
    (x.policyName < y.policyName ? -1 : x.policyName > y.policyName ? 1 : 0)
  );
}

/** The winning assignment for a device, or undefined when none targets it. */
export function pickEffective(candidates: readonly Candidate[], device: DeviceFacts, groups: ReadonlySet<string>): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of candidates) if (matches(c.assignment, device, groups) && (!best || compareCandidates(c, best) < 0)) best = c;
  return best;
}
