import type { Session } from '../../admins/service.ts';
import type { EnrollmentTokenView } from '../../android/enrollment-tokens.ts';
import type { EnterpriseView, PolicyView, ServiceAccountView } from '../../android/service.ts';
import { Banner, CsrfField, DataTable, Layout, when } from '../layout.tsx';

export const TOKEN_TTLS = { '1d': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000, '90d': 90 * 86_400_000 } as const;
export type TokenTtl = keyof typeof TOKEN_TTLS;
const TTL_LABELS: Record<TokenTtl, string> = { '1d': '1 day', '7d': '7 days', '30d': '30 days', '90d': '90 days' };

export interface AndroidData {
  account: ServiceAccountView | null;
  enterprise: EnterpriseView | null;
  policies: PolicyView[];
  tokens: EnrollmentTokenView[];
}

const ownershipText = (t: Pick<EnrollmentTokenView, 'ownership' | 'workProfile'>) =>
  t.ownership === 'personal' ? 'Personal (work profile)' : t.workProfile ? 'Company (work profile)' : 'Company (fully managed)';

/** `/android`: the Google service account, the bound enterprise, its policies and enrollment tokens. */
export function AndroidPage(props: { session: Session; data: AndroidData; notice?: string | undefined; error?: string | undefined; signupUrl?: string | undefined }) {
  const { account, enterprise, policies, tokens } = props.data;
  const admin = props.session.admin.role === 'admin';
  return (
    <Layout title="Android" session={props.session} nav="android">
      <h1>Android Enterprise</h1>
      {props.notice ? <Banner kind="ok">{props.notice}</Banner> : null}
      {props.error ? <Banner kind="error">{props.error}</Banner> : null}

      <section aria-labelledby="account-h">
        <h2 id="account-h">1. Google service account</h2>
        {account ? (
          <p>
            Calls Google as <strong>{account.clientEmail}</strong> (project {account.projectId}), imported {when(account.importedAt)}.
          </p>
        ) : (
          <p>No key yet. Create a service account in a Google Cloud project with the Android Management API enabled, make a JSON key, and import it here.</p>
        )}
        {admin ? (
          <form method="post" action="/android/service-account" enctype="multipart/form-data">
            <CsrfField session={props.session} />
            <label for="key-file">{account ? 'Replace the key (JSON file)' : 'Key file (JSON)'}</label>
            <input id="key-file" name="key" type="file" accept="application/json,.json" required />
            <div class="form-actions">
              <button type="submit">Import key</button>
            </div>
          </form>
        ) : null}
      </section>

      <section aria-labelledby="enterprise-h">
        <h2 id="enterprise-h">2. Enterprise</h2>
        {enterprise ? (
          <>
            <p>
              Bound to <strong>{enterprise.displayName ?? enterprise.name}</strong> ({enterprise.name}) since {when(enterprise.createdAt)}.
              {enterprise.pubsubTopic ? ` Device events come through ${enterprise.pubsubTopic}.` : ' No Pub/Sub topic: devices are kept in step by the periodic reconcile.'}
            </p>
            {admin ? (
              <form method="post" action="/android/enterprise/unbind">
                <CsrfField session={props.session} />
                <p class="muted">Unbinding deletes the enterprise at Google: every Android device it manages is unenrolled and wiped of its work data.</p>
                <label for="unbind-confirm">Type the enterprise's name ({enterprise.name}) to unbind it</label>
                <input id="unbind-confirm" name="confirm" required autocomplete="off" />
                <div class="form-actions">
                  <button type="submit" class="danger">
                    Unbind
                  </button>
                </div>
              </form>
            ) : null}
          </>
        ) : props.signupUrl ? (
          <div class="banner ok" role="status">
            <p>Google's signup page is ready. Sign in there with the Google account that will own the enterprise; Google sends you back here when it is done.</p>
            <p>
              <a href={props.signupUrl} data-testid="signup-link">
                Continue to Google
              </a>
            </p>
          </div>
        ) : (
          <>
            <p>Not bound. {account ? 'Start Google\'s signup to bind an enterprise to this appliance.' : 'Import the service-account key first.'}</p>
            {admin && account ? (
              <form method="post" action="/android/signup">
                <CsrfField session={props.session} />
                <div class="form-actions">
                  <button type="submit">Bind an enterprise</button>
                </div>
              </form>
            ) : null}
          </>
        )}
      </section>

      <section aria-labelledby="policies-h">
        <h2 id="policies-h">3. Policies</h2>
        {policies.length ? (
          <DataTable columns={['Name', 'Version', 'Updated']} testId="android-policies">
            {policies.map((p) => (
              <tr>
                <td>{p.id}</td>
                <td>{p.version}</td>
                <td>{when(p.updatedAt)}</td>
              </tr>
            ))}
          </DataTable>
        ) : (
          <p class="muted">No Android policy yet: devices enroll with one. Make one with mdm android policy put or PUT /api/v1/android/policies/NAME.</p>
        )}
      </section>

      <section aria-labelledby="tokens-h">
        <h2 id="tokens-h">4. Enrollment tokens</h2>
        {admin && enterprise && policies.length ? (
          <form method="post" action="/android/enrollment-tokens">
            <CsrfField session={props.session} />
            <label for="token-policy">Policy</label>
            <select id="token-policy" name="policy" required>
              {policies.map((p) => (
                <option value={p.id}>{p.id}</option>
              ))}
            </select>
            <label for="token-ownership">Device</label>
            <select id="token-ownership" name="kind">
              <option value="corporate">Company device, fully managed (factory-reset device scans the QR code)</option>
              <option value="corporate-work-profile">Company device with a work profile</option>
              <option value="personal">Personal device: a work profile (the user opens the link)</option>
            </select>
            <label for="token-user">User's email (optional)</label>
            <input id="token-user" name="user_email" type="email" maxlength={254} />
            <label for="token-ttl">Valid for</label>
            <select id="token-ttl" name="ttl">
              {(Object.keys(TOKEN_TTLS) as TokenTtl[]).map((k) => (
                <option value={k} selected={k === '7d'}>
                  {TTL_LABELS[k]}
                </option>
              ))}
            </select>
            <label>
              <input type="checkbox" name="one_time" value="1" /> One device only
            </label>
            <div class="form-actions">
              <button type="submit">Create token</button>
            </div>
          </form>
        ) : null}
        {tokens.length ? (
          <DataTable columns={['Created', 'User', 'Device', 'Policy', 'Status', 'Expires', '']} testId="android-tokens">
            {tokens.map((t) => (
              <tr>
                <td>
                  <a href={`/android/enrollment-tokens/${t.id}`}>{when(t.createdAt)}</a>
                </td>
                <td>{t.userEmail ?? '—'}</td>
                <td>{ownershipText(t)}</td>
                <td>{t.policyId}</td>
                <td>{t.status}</td>
                <td>{when(t.expiresAt)}</td>
                <td>
                  {admin && t.status === 'active' ? (
                    <form method="post" action={`/android/enrollment-tokens/${t.id}/revoke`} class="inline">
                      <CsrfField session={props.session} />
                      <button type="submit" class="secondary" aria-label={`Revoke the token made ${when(t.createdAt)}`}>
                        Revoke
                      </button>
                    </form>
                  ) : null}
                </td>
              </tr>
            ))}
          </DataTable>
        ) : (
          <p class="muted">No enrollment token yet.</p>
        )}
      </section>
    </Layout>
  );
}

/** One token: the QR code a factory-reset device scans, the link a personal device opens. */
export function AndroidTokenPage(props: { session: Session; token: EnrollmentTokenView; notice?: string | undefined }) {
  const t = props.token;
  return (
    <Layout title="Android enrollment token" session={props.session} nav="android">
      <p>
        <a href="/android">← Android</a>
      </p>
      <h1>Enrollment token</h1>
      {props.notice ? <Banner kind="ok">{props.notice}</Banner> : null}
      <p>
        {ownershipText(t)}, policy {t.policyId}
        {t.userEmail ? `, for ${t.userEmail}` : ''}; {t.oneTimeOnly ? 'one device only' : 'any number of devices'}; {t.status}, expires {when(t.expiresAt)}.
      </p>
      {t.status === 'active' ? (
        <>
          {t.ownership === 'personal' ? (
            <>
              <h2>On the personal device</h2>
              <p>Open this link on the phone; it sets up the work profile:</p>
              <label for="byod-link">Enrollment link</label>
              <input id="byod-link" readonly value={t.byodLink} data-testid="byod-link" />
            </>
          ) : (
            <>
              <h2>On the company device</h2>
              <p>On a new or factory-reset device, tap the welcome screen six times, then scan:</p>
              <img src={`/android/enrollment-tokens/${t.id}/qr.svg`} alt="Provisioning QR code" width="320" height="320" data-testid="qr" />
            </>
          )}
          <label for="token-value">Token (for manual entry: afw#setup, then the token)</label>
          <input id="token-value" readonly value={t.value} />
        </>
      ) : (
        <Banner kind="warn">This token is {t.status}: no device can enroll with it.</Banner>
      )}
    </Layout>
  );
}
