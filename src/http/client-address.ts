import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';

/** The TCP peer of the request (from @hono/node-server), or 'unknown' outside a node server. */
export function clientSocketAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Who is asking, for login throttling and the audit log: the socket's peer, or the nearest hop a trusted proxy names. */
export function clientAddress(c: Context, trustedProxies: string[]): string {
  const peer = clientSocketAddress(c);
  if (!trustedProxies.includes(peer)) return peer;
  const forwarded = c.req.header('x-forwarded-for')?.split(',').map((s) => s.trim()).filter(Boolean);
  return forwarded?.[forwarded.length - 1] ?? peer;
}
