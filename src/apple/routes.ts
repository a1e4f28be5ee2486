import type { TLSSocket } from 'node:tls';
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Ca } from '../pki/ca.ts';
import { createIdentifier } from './identity.ts';
import type { AppleMdm } from './service.ts';

/** Installed-application and certificate lists from a Mac can run to megabytes. */
export const MDM_MAX_BODY = 16 * 1024 * 1024;
const CHECKIN_TYPE = 'application/x-apple-aspen-mdm-checkin';

/**
 * `/mdm` (and `/mdm/checkin`): check-ins and command reports. Every failure is a bare 400 with
 * the reason in our log: a 401 would make the device remove its MDM profile.
 */
export function appleMdmRoutes(deps: { mdm: AppleMdm; ca: Ca; log: Logger; trustedProxies: string[] }) {
  const app = new Hono<{ Bindings: HttpBindings }>();
  const identify = createIdentifier(deps.ca);
  const bare = (status: number) => new Response(null, { status });

  const handler = async (c: import('hono').Context<{ Bindings: HttpBindings }>) => {
    const body = Buffer.from(await c.req.arrayBuffer());
    const socket = c.env?.incoming?.socket as TLSSocket | undefined;
    const peer = socket?.remoteAddress ?? '';
    try {
      const identity = identify({
        body,
        mdmSignature: c.req.header('mdm-signature'),
        tlsCertificate: typeof socket?.getPeerCertificate === 'function' ? (socket.getPeerCertificate(false)?.raw ?? null) : null,
        proxyClientCert: deps.trustedProxies.includes(peer.replace(/^::ffff:/, '')) ? c.req.header('client-cert') : null,
      });
      const kind = (c.req.header('content-type') ?? '').split(';')[0]!.trim() === CHECKIN_TYPE ? 'checkin' : 'report';
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

  const limit = bodyLimit({ maxSize: MDM_MAX_BODY, onError: () => bare(413) });
  for (const path of ['/', '/checkin']) {
    app.put(path, limit, handler);
    app.post(path, limit, handler);
  }
  return app;
}
