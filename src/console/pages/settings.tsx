import type { AdminInfo, Session } from '../../admins/service.ts';
import type { ExpiryState } from '../../push/expiry.ts';
import { Layout, when, DataTable } from '../layout.tsx';

export interface SettingsData {
  publicUrl: string;
  organization: string;
  push: { topic: string; notAfter: number; state: ExpiryState; daysLeft: number } | null;
  ca: { fingerprint: string; notAfter: number; state: ExpiryState };
  admins: AdminInfo[];
}

/** What the appliance runs with. Settings change through MDM_* variables and the mdm command, so this page shows them and says how. */
export function SettingsPage(props: { session: Session; data: SettingsData }) {
  const d = props.data;
  const fingerprint = d.ca.fingerprint.toUpperCase().match(/../g)!.join(':');
  return (
    <Layout title="Settings" session={props.session} nav="settings">
      <h1>Settings</h1>
      <p>
        Settings come from <code>MDM_*</code> environment variables (or <code>mdm serve</code> flags) and change with a restart; certificates and admins change with
        the <code>mdm</code> command. See the README.
      </p>
      <h2>Appliance</h2>
      <dl class="facts">
        <dt>Public URL</dt>
        <dd>{d.publicUrl}</dd>
        <dt>Organization</dt>
        <dd>{d.organization}</dd>
      </dl>
      <h2>Apple push certificate</h2>
      {d.push ? (
        <dl class="facts" data-testid="push">
          <dt>Topic</dt>
          <dd>{d.push.topic}</dd>
          <dt>Expires</dt>
          <dd>
            {when(d.push.notAfter)} ({d.push.daysLeft >= 0 ? `${d.push.daysLeft} days left` : 'expired'}, {d.push.state})
          </dd>
        </dl>
      ) : (
        <p data-testid="push">
          None installed: <code>mdm push csr</code>, have it signed, then <code>mdm push import</code>.
        </p>
      )}
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
      <h2>Admins</h2>
      <DataTable columns={['Username', 'Role', 'Created', 'Two-factor']}>
        {d.admins.map((a) => (
          <tr>
            <td>{a.username}</td>
            <td>{a.role}</td>
            <td>{when(a.createdAt)}</td>
            <td>{a.twoFactor ? 'on' : 'off'}</td>
          </tr>
        ))}
      </DataTable>
      <p class="muted">
        Add one with <code>mdm admin create --username NAME --password-stdin --role admin|read-only</code>.
      </p>
    </Layout>
  );
}
