import type { Session } from '../../admins/service.ts';
import { Banner, CsrfField, Layout, when } from '../layout.tsx';

export const LINK_TTLS = { '1h': 3_600_000, '1d': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;
export type LinkTtl = keyof typeof LINK_TTLS;
const TTL_LABELS: Record<LinkTtl, string> = { '1h': '1 hour', '1d': '1 day', '7d': '7 days', '30d': '30 days' };

export interface EnrollmentForm {
  userEmail: string;
  ownership: 'corporate' | 'personal';
  ttl: LinkTtl;
}

export function EnrollmentPage(props: {
  session: Session;
  pushReady: boolean;
  form: EnrollmentForm;
  created?: { url: string; expiresAt: number; userEmail: string | null; ownership: string };
  error?: string;
}) {
  const f = props.form;
  return (
    <Layout title="Enrollment" session={props.session} nav="enrollment">
      <h1>Enroll an Apple device</h1>
      <p>
        An enrollment link works once: opened on the iPhone, iPad or Mac, it offers the signed profile that enrolls the device. Company devices get every
        management right; personal ones every right but erase.
      </p>
      <p>
        Android devices enroll with a token of the bound enterprise: its QR code for company devices, a link for personal ones, on the{' '}
        <a href="/android">Android</a> page.
      </p>
      {props.pushReady ? null : (
        <Banner kind="warn">
          No Apple push certificate is installed yet: links can be made, but they only offer a profile once one is (see "The Apple push certificate" in the
          README).
        </Banner>
      )}
      {props.error ? <Banner kind="error">{props.error}</Banner> : null}
      {props.created ? (
        <div class="banner ok" role="status">
          <p>
            <strong>Link created</strong> for a {props.created.ownership} device{props.created.userEmail ? ` of ${props.created.userEmail}` : ''}, valid until{' '}
            {when(props.created.expiresAt)}. It is shown only now: copy it.
          </p>
          <label for="created-link">Enrollment link</label>
          <input id="created-link" readonly value={props.created.url} data-testid="enrollment-link" />
        </div>
      ) : null}
      {props.session.admin.role === 'admin' ? (
        <form method="post" action="/enrollment">
          <CsrfField session={props.session} />
          <h2>New link</h2>
          <label for="user-email">User's email (optional)</label>
          <input id="user-email" name="user_email" type="email" maxlength={254} value={f.userEmail} />
          <label for="ownership">Ownership</label>
          <select id="ownership" name="ownership">
            <option value="corporate" selected={f.ownership === 'corporate'}>
              Company device
            </option>
            <option value="personal" selected={f.ownership === 'personal'}>
              Personal device
            </option>
          </select>
          <label for="ttl">Valid for</label>
          <select id="ttl" name="ttl">
            {(Object.keys(LINK_TTLS) as LinkTtl[]).map((k) => (
              <option value={k} selected={f.ttl === k}>
                {TTL_LABELS[k]}
              </option>
            ))}
          </select>
          <div class="form-actions">
            <button type="submit">Create link</button>
          </div>
        </form>
      ) : (
        <p class="muted">Your account is read-only: an admin creates enrollment links.</p>
      )}
    </Layout>
  );
}
