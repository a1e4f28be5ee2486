import type { MiddlewareHandler } from 'hono';
import type { ApiTokenInfo, ApiTokens } from '../auth/api-tokens.ts';
import { apiActor } from '../audit/routes.ts';
import type { Actor } from '../audit/service.ts';

/** `actor` is the token as the audit log records it, with the client's address. */
export type ApiEnv = { Variables: { apiToken: ApiTokenInfo; actor: Actor } };

/**
 * `Authorization: Bearer <token>` on every API request. The 401 is built here rather than thrown:
 * AppError leaves 401 out on purpose, as a device that sees one removes its MDM profile.
 * `trustedProxies` decide the caller's address the audit log records (none: the socket's peer).
 */
export function bearerAuth(tokens: ApiTokens, trustedProxies: string[] = []): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const m = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '');
    const token = m ? tokens.authenticate(m[1]!) : null;
    if (!token) {
      const message = m ? 'unknown or revoked API token' : 'an Authorization: Bearer <API token> header is required';
      // RFC 6750: say which scheme, and whether the token itself was the problem.
      const challenge = m ? 'Bearer realm="mdm", error="invalid_token"' : 'Bearer realm="mdm"';
      return c.json({ error: { code: 'unauthorized', message } }, 401, { 'www-authenticate': challenge });
    }
    c.set('apiToken', token);
    c.set('actor', apiActor(c, token, trustedProxies));
    await next();
  };
}
