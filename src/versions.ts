/**
 * Dotted numeric versions, compared part by part: "10.13.4" < "10.14" == "10.14.0", 17.10 > 17.9.
 * A part that is not a number (a beta suffix, a vendor's odd string) counts by its leading digits,
 * or 0: a version is never refused here, only ordered. Returns -1, 0 or 1.
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}
