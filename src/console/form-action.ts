import type { Context } from 'hono';
import { isAppError } from '../errors.ts';
import type { ConsoleEnv } from './session.ts';

type Handler = (c: Context<ConsoleEnv>, body: Record<string, unknown>) => Promise<string | Response> | string | Response;

/**
 * A console form's handler: the change, then a redirect (post/redirect/get) to `base?done=<what>`,
 * or to a path it names; its AppErrors (a wrong password, a refused topic change, Google's
 * refusals) are shown on the section's page with their status, never a stack.
 */
export function formActions(base: string, page: (c: Context<ConsoleEnv>, o: { error: string; status: number }) => Response | Promise<Response>) {
  return (fn: Handler) => async (c: Context<ConsoleEnv>) => {
    const body = await c.req.parseBody();
    try {
      const done = await fn(c, body);
      if (typeof done !== 'string') return done;
      return c.redirect(done.startsWith('/') ? done : `${base}?done=${done}`, 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      return page(c, { error: e.message, status: e.status });
    }
  };
}
