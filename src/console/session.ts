import crypto from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Admins, NewSession, Session } from '../admins/service.ts';
import { clientAddress, clientSocketAddress } from '../http/client-address.ts';

export { clientAddress };

export type ConsoleEnv = { Variables: { session: Session } };

export const SESSION_COOKIE = 'mdm_session';
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The request came over HTTPS: directly, or through a trusted proxy that says so. */
export function overHttps(c: Context, trustedProxies: string[]): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  return trustedProxies.includes(clientSocketAddress(c)) && c.req.header('x-forwarded-proto') === 'https';
}

export function startSession(c: Context, s: NewSession, trustedProxies: string[]) {
  // HttpOnly: no script reads it. SameSite=Lax: other sites' forms do not carry it. Secure whenever
  // the console is reached over HTTPS; a plain-HTTP lab would lose the cookie otherwise.
  setCookie(c, SESSION_COOKIE, s.secret, { httpOnly: true, secure: overHttps(c, trustedProxies), sameSite: 'Lax', path: '/', expires: new Date(s.expiresAt) });
}

export function endSession(c: Context, admins: Admins) {
  const secret = getCookie(c, SESSION_COOKIE);
  if (secret) admins.logout(secret);
  deleteCookie(c, SESSION_COOKIE, { path: '/' });
}

/** The signed-in admin, or null. */
export function currentSession(c: Context, admins: Admins): Session | null {
  const secret = getCookie(c, SESSION_COOKIE);
  return secret ? admins.session(secret) : null;
}

/**
 * Every console page and action but login and setup. Without a live session a page is sent to
 * the login form (htmx is told to go there too), and a state change is refused outright.
 */
export function requireSession(admins: Admins, refused: (c: Context, status: 401 | 403, message: string) => Response): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const session = currentSession(c, admins);
    if (!session) {
      const login = `/login?next=${encodeURIComponent(c.req.path)}`;
      if (c.req.header('hx-request') === 'true') return c.body(null, 401, { 'hx-redirect': login });
      if (SAFE.has(c.req.method)) return c.redirect(login, 303);
      return refused(c, 401, 'You are not signed in, or your session has ended. Sign in and try again.');
    }
    c.set('session', session);
    await next();
  };
}

const sameToken = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
};

/**
 * CSRF: every state change carries the session's token, as a hidden form field or (htmx) a
 * header, and a browser's Origin, when sent, must be this site. Runs before any handler reads
 * or changes anything.
 */
export function requireCsrf(refused: (c: Context, status: 403, message: string) => Response): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    if (SAFE.has(c.req.method)) return next();
    if (!sameOrigin(c)) return refused(c, 403, 'This request came from another site and was refused.');
    let token = c.req.header(CSRF_HEADER);
    if (token === undefined && /^(application\/x-www-form-urlencoded|multipart\/form-data)/.test(c.req.header('content-type') ?? '')) {
      const field = (await c.req.parseBody())[CSRF_FIELD];
      token = typeof field === 'string' ? field : undefined;
    }
    if (token === undefined || !sameToken(token, c.get('session').csrfToken)) {
      return refused(c, 403, 'This form has expired or did not come from this console. Reload the page and try again.');
    }
    await next();
  };
}

/** A browser's Origin header, when present, names this very site (login and setup have no session token to check). */
export function sameOrigin(c: Context): boolean {
  const origin = c.req.header('origin');
  if (origin === undefined || origin === 'null') return origin === undefined;
  const host = c.req.header('host');
  return host !== undefined && URL.canParse(origin) && new URL(origin).host === host;
}

/** Actions are for the `admin` role: read-only admins are refused even if they craft the request. */
export function requireAdmin(refused: (c: Context, status: 403, message: string) => Response): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    if (c.get('session').admin.role !== 'admin') return refused(c, 403, 'Your account is read-only: it cannot change anything.');
    await next();
  };
}
