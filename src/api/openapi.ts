import { z } from 'zod';
import { Policy } from '../android/amapi/schemas.generated.ts';
import { ServiceAccountKey } from '../android/amapi/service-account.ts';
import { CreateBody as EnrollmentTokenBody } from '../android/enrollment-api-routes.ts';
import { listQuery as auditQuery } from '../audit/routes.ts';
import {
  AssignBody as PolicyAssign,
  CompiledQuery as PolicyCompiledQuery,
  CreateBody as PolicyCreate,
  GroupBody as GroupCreate,
  PreviewBody as PolicyPreview,
  UpdateBody as PolicyUpdate,
} from '../policy/routes.ts';
import { AppBody, AppPatch } from '../apps/catalog.ts';
import { ComplianceQuery, LookupQuery as ComplianceLookup } from '../compliance/routes.ts';
import { VERSION } from '../version.ts';
import { CreateBody as WebhookBody, DeliveriesQuery, PatchBody as WebhookPatch } from '../webhooks/routes.ts';
import { bulkCommandBody, deviceCommandBody } from './commands.ts';
import { listQuery, wipeBody } from './devices.ts';
import { csrBody, importBody, vendorBody } from './push.ts';

/**
 * The OpenAPI 3.1 description of `/api/v1`: each operation names the zod schemas its route
 * validates with (the same objects, imported), turned into JSON Schema by zod. A test compares
 * this list with the routes the server has, so neither can drift from the other.
 */
interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** As hono writes it: `/devices/:id`. */
  path: string;
  tag: string;
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** The success status and what it carries. */
  ok: 200 | 201 | 202 | 204;
  produces?: 'application/json' | 'image/png' | 'image/svg+xml';
  /** Error statuses worth naming beyond 400 and 401. */
  errors?: number[];
}

const OPERATIONS: Operation[] = [
  { method: 'get', path: '/openapi.json', tag: 'meta', summary: 'This document', ok: 200 },

  { method: 'get', path: '/devices', tag: 'devices', summary: 'Devices, Apple and Android, in one id order (keyset pages)', query: listQuery, ok: 200 },
  { method: 'get', path: '/devices/:id', tag: 'devices', summary: 'One device: identity, enrollment, channels, inventory', ok: 200, errors: [404] },
  { method: 'delete', path: '/devices/:id', tag: 'devices', summary: 'Remove an Apple device from management (it is told to unenroll)', ok: 200, errors: [404, 409] },
  { method: 'get', path: '/devices/:id/commands', tag: 'devices', summary: "The device's command history, newest first", ok: 200, errors: [404] },
  { method: 'post', path: '/devices/:id/commands', tag: 'commands', summary: 'Queue an MDM command (Apple) or issue one (Android) to the device', body: deviceCommandBody, ok: 201, errors: [404, 409, 422] },
  { method: 'post', path: '/devices/:id/push', tag: 'devices', summary: "Push the device's channel now and show APNs's answer", ok: 200, errors: [404, 409] },
  { method: 'get', path: '/devices/:id/wipe', tag: 'devices', summary: 'What a wipe does, by platform and ownership: erase or retire (Apple), factory reset or work profile removed (Android), and exactly what goes', ok: 200, errors: [404, 409] },
  { method: 'post', path: '/devices/:id/wipe', tag: 'devices', summary: 'Wipe (company device) or retire (personal device) once confirmed (confirm: true)', body: wipeBody, ok: 200, errors: [404, 409] },

  { method: 'post', path: '/commands', tag: 'commands', summary: 'Queue one command to many enrollments, all or nothing', body: bulkCommandBody, ok: 201, errors: [404, 409, 422] },
  { method: 'get', path: '/commands/:uuid', tag: 'commands', summary: "A command and every target's status and answer", ok: 200, errors: [404] },
  { method: 'delete', path: '/commands/:uuid', tag: 'commands', summary: 'Cancel the targets not answered yet', ok: 200, errors: [404] },

  { method: 'get', path: '/push/certificate', tag: 'push', summary: 'The active Apple push certificate and its expiry state', ok: 200, errors: [404] },
  { method: 'put', path: '/push/certificate', tag: 'push', summary: 'Import the push certificate Apple issued', body: importBody, ok: 201, errors: [409, 422] },
  { method: 'post', path: '/push/csr', tag: 'push', summary: 'Make a push CSR (its key stays sealed here)', body: csrBody, ok: 201 },
  { method: 'get', path: '/push/csr', tag: 'push', summary: 'The pending push CSR', ok: 200, errors: [404] },
  { method: 'put', path: '/push/vendor-certificate', tag: 'push', summary: 'Import the MDM vendor identity (PEM or PKCS#12)', body: vendorBody, ok: 201, errors: [422] },
  { method: 'get', path: '/push/vendor-certificate', tag: 'push', summary: 'The MDM vendor certificate', ok: 200, errors: [404] },
  { method: 'post', path: '/push/signed-request', tag: 'push', summary: "The pending CSR signed for Apple's Push Certificates Portal", ok: 200, errors: [404] },

  { method: 'put', path: '/android/service-account', tag: 'android', summary: 'Import the Google service-account key (sealed here)', body: ServiceAccountKey, ok: 201, errors: [413] },
  { method: 'get', path: '/android/service-account', tag: 'android', summary: 'The service account: email and project', ok: 200, errors: [404] },
  { method: 'post', path: '/android/signup', tag: 'android', summary: "Google's signup URL that binds an enterprise", ok: 201, errors: [409] },
  { method: 'get', path: '/android/enterprise', tag: 'android', summary: 'The bound enterprise', ok: 200, errors: [404] },
  { method: 'delete', path: '/android/enterprise', tag: 'android', summary: 'Delete the enterprise at Google and here', ok: 200, errors: [404] },
  { method: 'post', path: '/android/sync', tag: 'android', summary: 'Reconcile Android devices with devices.list now', ok: 200, errors: [409] },
  { method: 'get', path: '/android/policies', tag: 'android', summary: 'Android policies with their versions', ok: 200 },
  { method: 'get', path: '/android/policies/:name', tag: 'android', summary: 'One Android policy as Google returned it', ok: 200, errors: [404] },
  { method: 'put', path: '/android/policies/:name', tag: 'android', summary: "Create or replace an Android policy (Google's Policy JSON)", body: Policy, ok: 200, errors: [409] },
  { method: 'delete', path: '/android/policies/:name', tag: 'android', summary: 'Delete an Android policy at Google and here', ok: 200, errors: [404] },
  { method: 'post', path: '/android/enrollment-tokens', tag: 'android', summary: 'Make an enrollment token (QR code and BYOD link)', body: EnrollmentTokenBody, ok: 201, errors: [404] },
  { method: 'get', path: '/android/enrollment-tokens', tag: 'android', summary: 'Enrollment tokens, newest first', ok: 200 },
  { method: 'get', path: '/android/enrollment-tokens/:id', tag: 'android', summary: 'One enrollment token', ok: 200, errors: [404] },
  { method: 'delete', path: '/android/enrollment-tokens/:id', tag: 'android', summary: 'Revoke an enrollment token at Google and here', ok: 200, errors: [404] },
  { method: 'get', path: '/android/enrollment-tokens/:id/qr.png', tag: 'android', summary: 'The provisioning QR code, PNG', ok: 200, produces: 'image/png', errors: [404, 410] },
  { method: 'get', path: '/android/enrollment-tokens/:id/qr.svg', tag: 'android', summary: 'The provisioning QR code, SVG', ok: 200, produces: 'image/svg+xml', errors: [404, 410] },

  { method: 'get', path: '/policies', tag: 'policies', summary: 'Policies, with their current version', ok: 200 },
  { method: 'post', path: '/policies', tag: 'policies', summary: 'Make a policy (version 1); refused unless every platform can take it', body: PolicyCreate, ok: 201, errors: [409, 422] },
  { method: 'get', path: '/policies/:id', tag: 'policies', summary: 'One policy and its current document', ok: 200, errors: [404] },
  { method: 'put', path: '/policies/:id', tag: 'policies', summary: 'A new version of a policy', body: PolicyUpdate, ok: 200, errors: [404, 409, 422] },
  { method: 'delete', path: '/policies/:id', tag: 'policies', summary: 'Delete a policy, its versions and assignments', ok: 204, errors: [404] },
  { method: 'get', path: '/policies/:id/versions', tag: 'policies', summary: "A policy's versions, never edited", ok: 200, errors: [404] },
  { method: 'post', path: '/policies/:id/preview', tag: 'policies', summary: 'What a new document would change, for whom: per platform and ownership, counts, samples and a diff', body: PolicyPreview, ok: 200, errors: [404] },
  { method: 'get', path: '/policies/:id/compiled', tag: 'policies', summary: 'The Apple profile or Android policy a version compiles to', query: PolicyCompiledQuery, ok: 200, errors: [404, 422] },
  { method: 'get', path: '/policies/:id/assignments', tag: 'policies', summary: "A policy's assignments", ok: 200, errors: [404] },
  { method: 'post', path: '/policies/:id/assignments', tag: 'policies', summary: 'Assign a policy to all devices, an ownership, a platform or a group', body: PolicyAssign, ok: 201, errors: [404, 409] },
  { method: 'delete', path: '/policies/:id/assignments/:assignment', tag: 'policies', summary: 'Remove an assignment', ok: 204, errors: [404] },
  { method: 'get', path: '/groups', tag: 'policies', summary: 'Device groups', ok: 200 },
  { method: 'post', path: '/groups', tag: 'policies', summary: 'Make a device group', body: GroupCreate, ok: 201, errors: [409] },
  { method: 'get', path: '/groups/:id', tag: 'policies', summary: 'A group and its members', ok: 200, errors: [404] },
  { method: 'delete', path: '/groups/:id', tag: 'policies', summary: 'Delete a group, its memberships and assignments', ok: 204, errors: [404] },
  { method: 'put', path: '/groups/:id/members/:device', tag: 'policies', summary: 'Add a device (Apple or Android) to a group', ok: 201, errors: [404] },
  { method: 'delete', path: '/groups/:id/members/:device', tag: 'policies', summary: 'Take a device out of a group', ok: 204, errors: [404] },
  { method: 'get', path: '/devices/:id/profiles', tag: 'policies', summary: "An Apple device's profiles: the policy profiles asked of it (pending, installed, failed with the device's error, removing) and its last ProfileList", ok: 200, errors: [404] },
  { method: 'post', path: '/devices/:id/enforce', tag: 'policies', summary: 'Enforce policies on a device again: the profiles and apps it refused are sent again', ok: 200, errors: [404] },
  { method: 'get', path: '/devices/:id/effective-policy', tag: 'policies', summary: "The device's one effective policy, the assignment that won, and its compiled form", ok: 200, errors: [404] },

  { method: 'get', path: '/apps', tag: 'apps', summary: 'The app catalog', ok: 200 },
  { method: 'post', path: '/apps', tag: 'apps', summary: 'Add an app: App Store (bundle id, iTunes store id), enterprise (manifest URL) or Google Play (package name)', body: AppBody, ok: 201, errors: [409] },
  { method: 'get', path: '/apps/:id', tag: 'apps', summary: 'One app of the catalog', ok: 200, errors: [404] },
  { method: 'patch', path: '/apps/:id', tag: 'apps', summary: "Change an app's name, iTunes store id or manifest URL", body: AppPatch, ok: 200, errors: [404] },
  { method: 'delete', path: '/apps/:id', tag: 'apps', summary: 'Take an app out of the catalog (policies may still require it by id)', ok: 204, errors: [404] },
  { method: 'get', path: '/devices/:id/apps', tag: 'apps', summary: "An Apple device's managed apps (pending, installing, installed, failed with the device's error, removing) and its last installed-app list", ok: 200, errors: [404] },

  { method: 'get', path: '/devices/:id/compliance', tag: 'compliance', summary: "The device's compliance: state, failing rules, the policy evaluated, a page of its timeline", query: ComplianceQuery, ok: 200, errors: [404] },
  { method: 'get', path: '/compliance', tag: 'compliance', summary: 'Device trust: the compliance state of the device with this serial, UDID or enterprise-specific id', query: ComplianceLookup, ok: 200, errors: [404] },

  { method: 'get', path: '/audit', tag: 'audit', summary: 'The audit log, newest first: who changed what, when, from where (keyset pages)', query: auditQuery, ok: 200 },

  { method: 'get', path: '/webhooks', tag: 'webhooks', summary: 'Webhooks', ok: 200 },
  { method: 'post', path: '/webhooks', tag: 'webhooks', summary: 'Register a webhook (its signing secret is in the answer, once)', body: WebhookBody, ok: 201 },
  { method: 'get', path: '/webhooks/:id', tag: 'webhooks', summary: 'One webhook', ok: 200, errors: [404] },
  { method: 'patch', path: '/webhooks/:id', tag: 'webhooks', summary: "Change a webhook's URL, events, description or enabled", body: WebhookPatch, ok: 200, errors: [404] },
  { method: 'delete', path: '/webhooks/:id', tag: 'webhooks', summary: 'Delete a webhook and its delivery log', ok: 204, errors: [404] },
  { method: 'post', path: '/webhooks/:id/secret', tag: 'webhooks', summary: 'A new signing secret (the old one stops at once)', ok: 200, errors: [404] },
  { method: 'post', path: '/webhooks/:id/ping', tag: 'webhooks', summary: 'Send a ping event to test the receiver', ok: 202, errors: [404] },
  { method: 'get', path: '/webhooks/:id/deliveries', tag: 'webhooks', summary: "A webhook's deliveries, newest first (keyset pages)", query: DeliveriesQuery, ok: 200, errors: [404] },
  { method: 'get', path: '/webhooks/:id/deliveries/:delivery', tag: 'webhooks', summary: 'One delivery, with the body sent', ok: 200, errors: [404] },
  { method: 'post', path: '/webhooks/:id/deliveries/:delivery/retry', tag: 'webhooks', summary: 'Send a delivery again now', ok: 202, errors: [404] },
];

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No content',
  400: 'Bad request: malformed JSON (bad_json) or a bad field (invalid_request, naming it)',
  401: 'No API token, or an unknown or revoked one',
  404: 'Not found',
  409: 'Conflict with the current state',
  410: 'Gone',
  413: 'Body too large',
  422: 'Refused: the request is well-formed but cannot be done',
};

const jsonSchema = (s: z.ZodType) => {
  // Input side: what a client sends (before defaults and transforms); transforms are described as their input.
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

/** `/devices/:id` → `/devices/{id}`, with its path parameters. */
function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  return { path: path.replace(/:([A-Za-z_]+)/g, (_, name: string) => (params.push(name), `{${name}}`)), params };
}

/** The operations as hono route keys (`GET /api/v1/devices/:id`), for the test that keeps them in step. */
export const documentedRoutes = (): string[] => OPERATIONS.map((o) => `${o.method.toUpperCase()} /api/v1${o.path}`);

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const { path, params } = openApiPath(op.path);
    const parameters: unknown[] = params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
    if (op.query) {
      const q = jsonSchema(op.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
      }
    }
    const responses: Record<string, unknown> = {
      [op.ok]: op.ok === 204 ? { description: REASONS[204] } : { description: REASONS[op.ok], content: { [op.produces ?? 'application/json']: { schema: op.produces ? { type: 'string', format: 'binary' } : { type: 'object' } } } },
    };
    for (const status of [...(op.body || op.query ? [400] : []), 401, ...(op.errors ?? [])]) {
      responses[status] = { description: REASONS[status], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    (paths[path] ??= {})[op.method] = {
      operationId: `${op.method}${op.path.replace(/[/:.-]+(\w)/g, (_, c: string) => c.toUpperCase())}`,
      tags: [op.tag],
      summary: op.summary,
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body) } } } } : {}),
      responses,
    };
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Open MDM Appliance API',
      version: VERSION,
      description: 'Devices, commands, push certificate, Android Enterprise and webhooks. Every operation takes `Authorization: Bearer <API token>` (mdm api-token create).',
    },
    servers: [{ url: '/api/v1' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token (mdm_...)' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
  };
  return cached;
}
