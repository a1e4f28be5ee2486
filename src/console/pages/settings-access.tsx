import type { AdminInfo, Session } from '../../admins/service.ts';
import type { ApiTokenInfo } from '../../auth/api-tokens.ts';
import { Banner, CsrfField, DataTable, when } from '../layout.tsx';

/** A one-button form in a table row. */
function RowAction(props: { session: Session; action: string; label: string; testId?: string }) {
  return (
    <form method="post" action={props.action}>
      <CsrfField session={props.session} />
      <button type="submit" class="secondary" data-testid={props.testId}>
        {props.label}
      </button>
    </form>
  );
}

export function AdminsSection(props: { session: Session; admins: AdminInfo[] }) {
  const canChange = props.session.admin.role === 'admin';
  return (
    <section id="admins" aria-labelledby="admins-heading">
      <h2 id="admins-heading">Admins</h2>
      <DataTable columns={canChange ? ['Username', 'Role', 'Created', 'Two-factor', 'Actions'] : ['Username', 'Role', 'Created', 'Two-factor']}>
        {props.admins.map((a) => (
          <tr>
            <td>{a.username}</td>
            <td>{a.role}</td>
            <td>{when(a.createdAt)}</td>
            <td>{a.twoFactor ? 'on' : 'off'}</td>
            {canChange ? (
              <td>
                {a.id === props.session.admin.id ? (
                  <span class="muted">you</span>
                ) : (
                  <>
                    {a.twoFactor ? <RowAction session={props.session} action={`/settings/admins/${a.id}/reset-two-factor`} label={`Reset two-factor of ${a.username}`} /> : null}
                    <RowAction session={props.session} action={`/settings/admins/${a.id}/delete`} label={`Delete ${a.username}`} />
                  </>
                )}
              </td>
            ) : null}
          </tr>
        ))}
      </DataTable>
      {canChange ? (
        <form method="post" action="/settings/admins" class="card">
          <CsrfField session={props.session} />
          <h3>Add an admin</h3>
          <label for="admin-username">Username</label>
          <input id="admin-username" name="username" required maxlength={64} autocomplete="off" />
          <label for="admin-password">Password (at least 12 characters)</label>
          <input id="admin-password" name="password" type="password" required minlength={12} maxlength={1024} autocomplete="new-password" />
          <label for="admin-role">Role</label>
          <select id="admin-role" name="role">
            <option value="admin">admin: may change everything</option>
            <option value="read-only">read-only: sees everything, changes nothing</option>
          </select>
          <div class="form-actions">
            <button type="submit">Add admin</button>
          </div>
        </form>
      ) : null}
    </section>
  );
}

export function ApiTokensSection(props: { session: Session; tokens: ApiTokenInfo[]; created?: { name: string; token: string } }) {
  const canChange = props.session.admin.role === 'admin';
  return (
    <section id="api-tokens" aria-labelledby="tokens-heading">
      <h2 id="tokens-heading">API tokens</h2>
      {props.created ? (
        <Banner kind="ok">
          <p>
            <strong>Token {props.created.name} created.</strong> It is shown only now: copy it. Send it as <code>Authorization: Bearer …</code> to <code>/api/v1</code>.
          </p>
          <label for="created-token">API token</label>
          <input id="created-token" readonly value={props.created.token} data-testid="api-token" />
        </Banner>
      ) : null}
      {props.tokens.length ? (
        <DataTable columns={canChange ? ['Name', 'Created', 'Last used', 'Status', 'Actions'] : ['Name', 'Created', 'Last used', 'Status']} testId="api-tokens">
          {props.tokens.map((t) => (
            <tr>
              <td>{t.name}</td>
              <td>{when(t.createdAt)}</td>
              <td>{when(t.lastUsedAt)}</td>
              <td>{t.revokedAt === null ? 'active' : `revoked ${when(t.revokedAt)}`}</td>
              {canChange ? <td>{t.revokedAt === null ? <RowAction session={props.session} action={`/settings/api-tokens/${t.id}/revoke`} label={`Revoke ${t.name}`} /> : null}</td> : null}
            </tr>
          ))}
        </DataTable>
      ) : (
        <p>No API tokens yet.</p>
      )}
      {canChange ? (
        <form method="post" action="/settings/api-tokens" class="card">
          <CsrfField session={props.session} />
          <h3>Create a token</h3>
          <label for="token-name">Name (what uses it)</label>
          <input id="token-name" name="name" required maxlength={100} autocomplete="off" />
          <div class="form-actions">
            <button type="submit">Create token</button>
          </div>
        </form>
      ) : null}
    </section>
  );
}
