// The container image's HEALTHCHECK: GET /healthz on this container's own listener with node
// itself (slim images have no curl). HTTPS on MDM_HTTPS_PORT (8443) accepting the self-issued
// certificate, or plain HTTP on MDM_HTTP_PORT when HTTPS is off. Exit 0 when the appliance
// answers 200 (its database answers), 1 otherwise.
'use strict';
const env = process.env;
const httpsPort = (env.MDM_HTTPS_PORT || '8443').trim();
const useHttps = httpsPort !== 'off';
const port = useHttps ? httpsPort : (env.MDM_HTTP_PORT || '').trim();
const listen = (env.MDM_LISTEN || '').trim();
const host = !listen || listen === '0.0.0.0' || listen === '::' ? '127.0.0.1' : listen;
const client = require(useHttps ? 'node:https' : 'node:http');
const fail = (why) => {
  process.stderr.write(`unhealthy: ${why}\n`);
  process.exit(1);
};
if (!/^\d+$/.test(port)) fail('no port to check (MDM_HTTPS_PORT off and MDM_HTTP_PORT unset)');
const req = client.get({ host, port: Number(port), path: '/healthz', rejectUnauthorized: false, timeout: 4000 }, (res) => {
  res.resume();
  if (res.statusCode === 200) process.exit(0);
  fail(`/healthz answered ${res.statusCode}`);
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (e) => fail(e.message));
