// The devices list's OS sort key, worked out in JavaScript the way the SQL expression does (SQLite's
// CAST to INTEGER reads the leading digits, 0 when there are none), so tests check the order
// against an independent computation rather than against SQLite itself.
const leadingInt = (s: string) => Number(/^\s*[+-]?\d+/.exec(s)?.[0] ?? 0);
const pad = (n: number) => String(n).padStart(5, '0');

export function osKey(platform: string, version: string | null): string {
  if (version === null) return `${platform} 00000 00000 `;
  const dot = version.indexOf('.');
  return `${platform} ${pad(leadingInt(version))} ${pad(dot >= 0 ? leadingInt(version.slice(dot + 1)) : 0)} ${version}`;
}
