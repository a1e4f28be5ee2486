import type { Context } from 'hono';
import type { Child } from 'hono/jsx';

/**
 * Pages are never cached (they show live state and a CSRF token), never framed, and may load
 * only this appliance's own script and stylesheet.
 */
const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  // Not no-referrer: browsers then send `Origin: null` with form posts, which the origin check refuses.
  // same-origin still keeps the setup token in a URL from reaching any other site.
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
};

export function render(c: Context, page: Child, status = 200) {
  return c.html(`<!doctype html>${String(page)}`, status as 200, PAGE_HEADERS);
}

/** A text field of a parsed form, '' when absent or a file. */
export const field = (body: Record<string, unknown>, name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
