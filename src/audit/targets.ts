import type { AuditEvent, AuditTarget } from './service.ts';
import type { WebhookView } from '../webhooks/service.ts';

/** The audit targets and events more than one face (console, API, CLI) records alike. */
export const deviceTarget = (id: string, label?: string | null): AuditTarget => ({ type: 'device', id, label: label ?? null });

/**
 * A queued MDM command (`command.send`): against the device when it has one target, else against
 * the command. Parameters are left out: a PIN or an unlock token is a secret.
 */
export function commandEvent(req: { requestType: string; enrollmentIds: string[] }, uuid: string, label?: string | null): AuditEvent {
  const details = { request_type: req.requestType, command_uuid: uuid, targets: req.enrollmentIds.length };
  if (req.enrollmentIds.length === 1) return { action: 'command.send', target: deviceTarget(req.enrollmentIds[0]!, label), details };
  return { action: 'command.send', target: { type: 'command', id: uuid, label: req.requestType }, details };
}

export const pushCertificateEvent = (c: { topic: string; serial: string; notAfter: number }): AuditEvent => ({
  action: 'push.certificate.import',
  target: { type: 'push_certificate', id: c.serial, label: c.topic },
  details: { topic: c.topic, not_after: new Date(c.notAfter).toISOString() },
});
export const pushCsrEvent = (c: { id: string; subject: string }): AuditEvent => ({ action: 'push.csr.create', target: { type: 'push_csr', id: c.id, label: c.subject } });
export const pushVendorEvent = (v: { serial: string; subject: string }): AuditEvent => ({ action: 'push.vendor.import', target: { type: 'vendor_certificate', id: v.serial, label: v.subject } });
/** The token's id and name; its secret never. */
export const apiTokenEvent =
  (action: 'api_token.create' | 'api_token.revoke') =>
  (t: { id: string; name: string }): AuditEvent => ({ action, target: { type: 'api_token', id: t.id, label: t.name } });

/** A webhook change: the webhook by id, labelled with its URL; never its secret. */
export const webhookEvent =
  (action: string, details?: (w: WebhookView) => Record<string, unknown>) =>
  (w: WebhookView): AuditEvent => ({ action, target: { type: 'webhook', id: w.id, label: w.url }, details: details ? details(w) : null });
