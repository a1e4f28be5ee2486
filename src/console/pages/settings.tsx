import type { AdminInfo, Session } from '../../admins/service.ts';
import type { ApiTokenInfo } from '../../auth/api-tokens.ts';
import type { ExpiryState } from '../../push/expiry.ts';
import { Banner, Layout, when } from '../layout.tsx';
import { AdminsSection, ApiTokensSection } from './settings-access.tsx';
import { PushSection, type PushSettings } from './settings-push.tsx';

export interface SettingsData {
  publicUrl: string;
  organization: string;
  push: PushSettings;
  ca: { fingerprint: string; notAfter: number; state: ExpiryState };
  /** The HTTPS listener's certificate, or null when the appliance serves plain HTTP only (behind a proxy). */
  tls: { source: 'appliance-ca' | 'files'; subject: string; names: string[]; issuer: string; notAfter: number; state: ExpiryState; matchesPublicUrl: boolean } | null;
  admins: AdminInfo[];
  tokens: ApiTokenInfo[];
}

/**
 * What the appliance runs with. The public URL and the like come from MDM_* variables and change
 * with a restart; the push certificate, admins and API tokens change here (or with the mdm command).
 */
export function SettingsPage(props: { session: Session; data: SettingsData; notice?: string; error?: string; createdToken?: { name: string; token: string } }) {
  const d = props.data;
  const fingerprint = d.ca.fingerprint.toUpperCase().match(/../g)!.join(':');
  return (
    <Layout title="Settings" session={props.session} nav="settings">
      <h1>Settings</h1>
      {props.notice ? <Banner kind="ok">{props.notice}</Banner> : null}
      {props.error ? <Banner kind="error">{props.error}</Banner> : null}
      <p>
        The public URL, ports and TLS files come from <code>MDM_*</code> environment variables (or <code>mdm serve</code> flags) and change with a restart. See the
        README.
      </p>
      <h2>Appliance</h2>
      <dl class="facts">
        <dt>Public URL</dt>
        <dd>{d.publicUrl}</dd>
        <dt>Organization</dt>
        <dd>{d.organization}</dd>
      </dl>
      <h2>HTTPS certificate</h2>
      {d.tls ? (
        <>
          <dl class="facts" data-testid="tls">
            <dt>Names</dt>
            <dd>{d.tls.names.join(', ') || d.tls.subject}</dd>
            <dt>Issued by</dt>
            <dd>{d.tls.source === 'appliance-ca' ? "this appliance's CA (devices trust it through the enrollment profile)" : `${d.tls.issuer} (MDM_TLS_CERT)`}</dd>
            <dt>Expires</dt>
            <dd>
              {when(d.tls.notAfter)} ({d.tls.state})
            </dd>
          </dl>
          {d.tls.matchesPublicUrl ? null : <Banner kind="warn">The certificate does not name the public URL's host: devices will refuse the connection.</Banner>}
          {d.tls.state === 'ok' ? null : <Banner kind={d.tls.state === 'expiring' ? 'warn' : 'error'}>Renew the HTTPS certificate: replaced files are picked up within the hour, without a restart.</Banner>}
        </>
      ) : (
        <p>No HTTPS listener: the appliance serves plain HTTP, for a reverse proxy that terminates TLS (MDM_HTTPS_PORT=off).</p>
      )}
      <PushSection session={props.session} push={d.push} />
      <h2>Certificate authority</h2>
      <dl class="facts">
        <dt>SHA-256 fingerprint</dt>
        <dd>{fingerprint}</dd>
        <dt>Expires</dt>
        <dd>
          {when(d.ca.notAfter)} ({d.ca.state})
        </dd>
      </dl>
      <h2>Two-factor authentication</h2>
      <p data-testid="own-two-factor">
        For your account ({props.session.admin.username}): <strong>{props.session.admin.twoFactor ? 'on' : 'off'}</strong>.{' '}
        <a href="/account/two-factor">{props.session.admin.twoFactor ? 'Manage two-factor authentication' : 'Set up two-factor authentication'}</a>
      </p>
      <AdminsSection session={props.session} admins={d.admins} />
      <ApiTokensSection session={props.session} tokens={d.tokens} created={props.createdToken} />
    </Layout>
  );
}
