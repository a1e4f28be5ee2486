import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Ca } from '../pki/ca.ts';
import { createIdentifier } from './identity.ts';
import type { AppleMdm } from './service.ts';

/** Installed-application and certificate lists from a Mac can run to megabytes. */
export const MDM_MAX_BODY = 16 * 1024 * 1024;
const CHECKIN_TYPE = 'application/x-apple-aspen-mdm-checkin';

/**
 * The body straight from Node's request, capped at `max` (null beyond it). Going through the web
 * Request that hono builds on demand (stream, AbortSignal) cost a seventh of a check-in.
 */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > max) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return null;
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * `/mdm` (and `/mdm/checkin`): check-ins and command reports. Every failure is a bare 400 with
 * the reason in our log: a 401 would make the device remove its MDM profile.
 */
export function appleMdmRoutes(deps: { mdm: AppleMdm; ca: Ca; log: Logger; trustedProxies: string[] }) {
  const app = new Hono<{ Bindings: HttpBindings }>();
  const identify = createIdentifier(deps.ca);
  const bare = (status: number) => new Response(null, { status });

  const handler = async (c: import('hono').Context<{ Bindings: HttpBindings }>) => {
    const incoming = c.env.incoming;
    const body = await readBody(incoming, MDM_MAX_BODY);
    if (!body) return bare(413);
    const header = (name: string) => {
      const v = incoming.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const socket = incoming.socket as TLSSocket;
    const peer = socket.remoteAddress ?? '';
    try {
      const identity = identify({
        body,
        mdmSignature: header('mdm-signature'),
        tlsCertificate: typeof socket.getPeerCertificate === 'function' ? (socket.getPeerCertificate(false)?.raw ?? null) : null,
        proxyClientCert: deps.trustedProxies.includes(peer.replace(/^::ffff:/, '')) ? header('client-cert') : null,
      });
      const kind = (header('content-type') ?? '').split(';')[0]!.trim() === CHECKIN_TYPE ? 'checkin' : 'report';
      const r = deps.mdm.handle(kind, body, identity);
      return new Response(r.body ?? null, { status: r.status, headers: r.contentType ? { 'content-type': r.contentType } : {} });
    } catch (e) {
      if (isAppError(e) && e.status < 500) {
        deps.log.warn({ code: e.code, reason: e.message, peer }, 'MDM request refused');
        return bare(e.status === 403 ? 403 : 400);
      }
      throw e;
    }
  };

  for (const path of ['/', '/checkin']) {
    app.put(path, handler);
    app.post(path, handler);
  }
  return app;
}
