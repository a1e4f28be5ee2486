import { z } from 'zod';

/** What an admin can subscribe a webhook to. `ping` is sent on request only, to test a receiver. */
export const EVENT_TYPES = ['device.enrolled', 'device.checked_out', 'command.completed', 'compliance.changed', 'push_certificate.expiring'] as const;
export const EventType = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventType>;

/** How services report events: the webhooks service is one listener; nothing waits for it. */
export type EmitEvent = (type: EventType, data: Record<string, unknown>) => void;
