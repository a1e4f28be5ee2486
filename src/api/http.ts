import type { Context } from 'hono';
import type { z } from 'zod';
import { AppError } from '../errors.ts';

/** Times leave the API as ISO 8601, or null when the event has not happened. */
export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** The first zod issue as `field: problem`, so a client can tell which input to fix. */
function invalid(where: string, error: z.ZodError): AppError {
  const issue = error.issues[0];
  const at = issue?.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') : where;
  // zod reports stray fields at their parent; the field itself is what the client must drop.
  if (issue?.code === 'unrecognized_keys') return new AppError('invalid_request', `${issue.keys.join(', ')}: not accepted here`);
  return new AppError('invalid_request', `${at}: ${issue?.message ?? 'invalid'}`);
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw invalid(where, r.error);
  return r.data;
}

export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw new AppError('bad_json', 'the request body must be JSON');
  }
  return parseWith(schema, body, 'body');
}
