import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { MalformedMessage } from './pki-message.ts';
import type { ScepService } from './service.ts';
import type { PkiOperations } from './worker-pool.ts';

/** SCEP messages are a few kilobytes; anything near this is not a SCEP request. */
export const SCEP_MAX_BODY = 64 * 1024;

/**
 * The GET form's `message` arrives as standard base64 (percent-encoded or not), URL-safe base64,
 * or with raw `+` that URLSearchParams would turn into spaces: read it from the raw query string.
 */
export function messageFromQuery(url: string): Buffer | null {
  const q = url.indexOf('?');
  if (q < 0) return null;
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq) !== 'message') continue;
    let raw: string;
    try {
      raw = decodeURIComponent(pair.slice(eq + 1));
    } catch {
      return null;
    }
    const b64 = raw.replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/').replace(/\s/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return null;
    return Buffer.from(b64, 'base64');
  }
  return null;
}

export function scepRoutes(scep: Pick<ScepService, 'caps' | 'caCerts'>, operations: PkiOperations) {
  const app = new Hono();
  // Device endpoints answer with bare statuses: a SCEP client cannot use a JSON error.
  const bare = (status: 400 | 405 | 413, text: string) => new Response(text + '\n', { status, headers: { 'content-type': 'text/plain' } });

  const pkiOperation = async (body: Uint8Array) => {
    try {
      const r = await operations.pkiOperation(body);
      return new Response(r.body, { headers: { 'content-type': 'application/x-pki-message' } });
    } catch (e) {
      if (e instanceof MalformedMessage) {
        return bare(400, `malformed SCEP message: ${e.message}`);
      }
      throw e;
    }
  };

  app.get('/', (c) => {
    const op = c.req.query('operation');
    switch (op) {
      case 'GetCACaps':
        return c.body(scep.caps(), 200, { 'content-type': 'text/plain' });
      case 'GetCACert':
        return c.body(new Uint8Array(scep.caCerts()), 200, { 'content-type': 'application/x-x509-ca-ra-cert' });
      case 'PKIOperation': {
        const message = messageFromQuery(c.req.url);
        if (!message || !message.length) return bare(400, 'PKIOperation over GET needs a base64 message parameter');
        if (message.length > SCEP_MAX_BODY) return bare(413, 'message too large');
        return pkiOperation(message);
      }
      default:
        return bare(400, op ? `unknown operation ${op}` : 'missing operation');
    }
  });

  app.post(
    '/',
    bodyLimit({ maxSize: SCEP_MAX_BODY, onError: () => bare(413, 'message too large') }),
    async (c) => {
      const op = c.req.query('operation');
      if (op !== 'PKIOperation') return bare(op ? 405 : 400, op ? `operation ${op} is not a POST operation` : 'missing operation');
      const body = new Uint8Array(await c.req.arrayBuffer());
      if (!body.length) return bare(400, 'empty body');
      return pkiOperation(body);
    },
  );
  return app;
}
