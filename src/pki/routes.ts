import { Hono } from 'hono';
import type { Ca } from './ca.ts';
import { toPem } from './x509.ts';

/** Public trust material: the CA certificate and the CRL, for devices, relying parties and admins. */
export function pkiRoutes(ca: Ca) {
  const app = new Hono();
  app.get('/crl', (c) => c.body(new Uint8Array(ca.crl()), 200, { 'content-type': 'application/pkix-crl' }));
  app.get('/ca', (c) => c.body(new Uint8Array(ca.ca.der), 200, { 'content-type': 'application/pkix-cert' }));
  app.get('/ca.pem', (c) => c.body(toPem('CERTIFICATE', ca.ca.der), 200, { 'content-type': 'application/x-pem-file' }));
  return app;
}
