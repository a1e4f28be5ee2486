import { z } from 'zod';

/** A date (`2026-11-23`) or a full ISO time; a bare date as `to` means the end of that day (UTC). */
const time = (endOfDay: boolean) =>
  z
    .string()
    .trim()
    .max(40)
    .transform((s, ctx) => {
      if (s === '') return undefined;
      const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(s);
      const ms = Date.parse(dateOnly ? `${s}T00:00:00Z` : s);
      if (Number.isNaN(ms)) {
        ctx.addIssue({ code: 'custom', message: 'a date such as 2026-11-23, or an ISO 8601 time' });
        return z.NEVER;
      }
      return dateOnly && endOfDay ? ms + 86_400_000 - 1 : ms;
    });

/** The audit log's filters, as the console's GET form and the API's query string give them. */
export const auditFilters = z.object({
  actor: z.string().trim().max(200).optional(),
  action: z
    .string()
    .trim()
    .max(100)
    .regex(/^[a-z0-9_.]*$/, 'an action or its prefix, such as device or device.lock')
    .transform((s) => s.replace(/\.+$/, ''))
    .optional(),
  target: z.string().trim().max(300).optional(),
  from: time(false).optional(),
  to: time(true).optional(),
});
export type AuditFilters = z.output<typeof auditFilters>;
