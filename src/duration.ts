const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `1h`, `7d` (or bare seconds) to milliseconds; null when unreadable or not positive. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNITS[m[2] || 's']!;
  return ms > 0 && Number.isSafeInteger(ms) ? ms : null;
}
