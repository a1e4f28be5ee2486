// The OpenAPI document of /api/v1: served, 3.1, and in step with the routes the server has: every
// route documented, nothing documented that is not a route, request bodies from the routes' own
// zod schemas.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { documentedRoutes } from '../src/api/openapi.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { serve, type RunningServer } from '../src/main.ts';
import { runCli, tempDir } from './support/server.ts';

let server: RunningServer;
let url: string;
let token: string;

before(async () => {
  const dataDir = tempDir();
  const config = loadConfig({ MDM_DATA_DIR: dataDir, MDM_SCEP_WORKERS: '0' }, { 'http-port': '0', 'https-port': 'off', listen: '127.0.0.1', 'public-url': 'http://127.0.0.1:8080' });
  server = await serve(config, createLogger('silent'));
  url = `http://127.0.0.1:${server.http!.port}`;
  const r = runCli(['api-token', 'create', '--name', 'openapi'], { MDM_DATA_DIR: dataDir, MDM_LOG_LEVEL: 'warn' });
  assert.equal(r.status, 0, r.stderr);
  token = r.stdout.trim();
});
after(async () => {
  await server?.close();
});

type Doc = { openapi: string; info: { version: string }; paths: Record<string, Record<string, any>>; components: Record<string, any> };

test('served at /api/v1/openapi.json behind the API token, OpenAPI 3.1', async () => {
  assert.equal((await fetch(`${url}/api/v1/openapi.json`)).status, 401);
  const r = await fetch(`${url}/api/v1/openapi.json`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  const doc = (await r.json()) as Doc;
  assert.equal(doc.openapi, '3.1.0');
  assert.match(doc.info.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: 'An API token (mdm_...)' });
  for (const [path, ops] of Object.entries(doc.paths)) {
    const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries(ops)) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.ok(op.summary, `${where}: a summary`);
      assert.ok(op.responses['401'], `${where}: says a token is needed`);
      assert.deepEqual(op.parameters?.filter((p: any) => p.in === 'path').map((p: any) => p.name) ?? [], params, `${where}: its path parameters`);
    }
  }
  const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId as string));
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  // Request bodies are the routes' zod schemas: strict objects stay strict, enums keep their values.
  const hook = doc.paths['/webhooks']!.post.requestBody.content['application/json'].schema;
  assert.equal(hook.additionalProperties, false);
  assert.deepEqual(hook.required, ['url', 'events']);
  const list = doc.paths['/devices']!.get.parameters.find((p: any) => p.name === 'platform');
  assert.ok(list.schema.enum.includes('android') && list.schema.enum.includes('ios'));
  const limit = doc.paths['/devices']!.get.parameters.find((p: any) => p.name === 'limit');
  assert.deepEqual([limit.schema.minimum, limit.schema.maximum], [1, 500]);
});

test('every /api/v1 route the server has is documented, and only those', () => {
  const routes = new Set(server.app.routes.filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/v1/')).map((r) => `${r.method} ${r.path}`));
  const documented = new Set(documentedRoutes());
  assert.deepEqual([...routes].filter((r) => !documented.has(r)), [], 'routes missing from the document');
  assert.deepEqual([...documented].filter((r) => !routes.has(r)), [], 'documented operations that are not routes');
});
