import type { Child } from 'hono/jsx';
import type { Session } from '../admins/service.ts';
import { assetUrl } from './assets.ts';
import { CSRF_FIELD } from './session.ts';

export type NavItem = 'dashboard' | 'devices' | 'enrollment' | 'policies' | 'groups' | 'apps' | 'android' | 'settings' | 'audit';
const NAV: Array<[NavItem, string, string]> = [
  ['dashboard', '/', 'Dashboard'],
  ['devices', '/devices', 'Devices'],
  ['enrollment', '/enrollment', 'Enrollment'],
  ['policies', '/policies', 'Policies'],
  ['groups', '/groups', 'Groups'],
  ['apps', '/apps', 'Apps'],
  ['android', '/android', 'Android'],
  ['settings', '/settings', 'Settings'],
  ['audit', '/audit', 'Audit log'],
];

/**
 * htmx settings: swap error answers too (the console shows its errors as pages), and no inline
 * indicator styles, which the Content-Security-Policy would refuse.
 */
const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  responseHandling: [
    { code: '204', swap: false },
    { code: '...', swap: true },
  ],
});

export function Layout(props: { title: string; session: Session | null; nav?: NavItem; children: Child }) {
  const s = props.session;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content={HTMX_CONFIG} />
        <title>{`${props.title} · MDM console`}</title>
        <link rel="icon" href={assetUrl('favicon.svg')} type="image/svg+xml" />
        <link rel="stylesheet" href={assetUrl('console.css')} />
        <script src={assetUrl('htmx.min.js')} defer></script>
      </head>
      {/* htmx sends the CSRF token as a header with every request it makes. */}
      <body hx-headers={s ? JSON.stringify({ 'X-CSRF-Token': s.csrfToken }) : undefined}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        {s ? (
          <header>
            <nav aria-label="Main">
              {NAV.map(([key, href, label]) => (
                <a href={href} aria-current={props.nav === key ? 'page' : undefined}>
                  {label}
                </a>
              ))}
            </nav>
            <div class="who">
              <span>
                Signed in as <strong data-testid="who">{s.admin.username}</strong> ({s.admin.role})
              </span>
              <form method="post" action="/logout">
                <CsrfField session={s} />
                <button type="submit" class="secondary">
                  Sign out
                </button>
              </form>
            </div>
          </header>
        ) : null}
        <main id="main">{props.children}</main>
      </body>
    </html>
  );
}

export function CsrfField(props: { session: Session }) {
  return <input type="hidden" name={CSRF_FIELD} value={props.session.csrfToken} />;
}

export function Banner(props: { kind: 'warn' | 'error' | 'ok'; children: Child }) {
  return (
    <div class={`banner ${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

/** 403, 404, 410, 429...: a message in the page, never a stack trace. */
export function ErrorPage(props: { title: string; message: string; session: Session | null }) {
  return (
    <Layout title={props.title} session={props.session}>
      <h1>{props.title}</h1>
      <Banner kind="error">{props.message}</Banner>
      <p>{props.session ? <a href="/">Back to the dashboard</a> : <a href="/login">Sign in</a>}</p>
    </Layout>
  );
}

export const when = (ms: number | null | undefined) => (ms === null || ms === undefined ? '—' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC');

/** A table that scrolls sideways on a narrow screen instead of the page: column headings and the rows given. */
export function DataTable(props: { columns: string[]; testId?: string; children: Child }) {
  return (
    <div class="table-wrap">
      <table data-testid={props.testId}>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** The top of a catalogue item's page (a policy, a group, an app): the way back, its name, what just happened. */
export function ItemHeading(props: { back: { href: string; label: string }; title: string; notice?: string | undefined; error?: string | undefined }) {
  return (
    <>
      <p>
        <a href={props.back.href}>← {props.back.label}</a>
      </p>
      <h1>{props.title}</h1>
      <Notices notice={props.notice} error={props.error} />
    </>
  );
}

/** What the last action did, or why it was refused. */
export function Notices(props: { notice?: string | undefined; error?: string | undefined }) {
  return (
    <>
      {props.notice ? <Banner kind="ok">{props.notice}</Banner> : null}
      {props.error ? <Banner kind="error">{props.error}</Banner> : null}
    </>
  );
}

/** Deleting something only once its name is typed back: a slip of the mouse deletes nothing. */
export function TypedDelete(props: { session: Session; action: string; thing: string; name: string; about: string; inputId: string }) {
  return (
    <form method="post" action={props.action}>
      <CsrfField session={props.session} />
      <p class="muted">{props.about}</p>
      <label for={props.inputId}>
        Type the {props.thing}'s name ({props.name}) to delete it
      </label>
      <input id={props.inputId} name="confirm" required autocomplete="off" />
      <div class="form-actions">
        <button type="submit" class="danger">
          Delete {props.thing}
        </button>
      </div>
    </form>
  );
}

/** One button that posts (with the CSRF token) to `action`: removing a row of a list. */
export function PostButton(props: { session: Session; action: string; label: string }) {
  return (
    <form method="post" action={props.action}>
      <CsrfField session={props.session} />
      <button type="submit" class="secondary">
        {props.label}
      </button>
    </form>
  );
}
