import type { Session } from '../../admins/service.ts';
import { CsrfField, DataTable, Layout, when, ItemHeading, Notices, TypedDelete, PostButton } from '../layout.tsx';

export interface GroupListRow {
  id: string;
  name: string;
  members: number;
  createdAt: number;
}

export interface MemberItem {
  id: string;
  /** The device's name, null when it has none yet or is gone. */
  name: string | null;
}

export function GroupsPage(props: { session: Session; groups: GroupListRow[]; notice?: string | undefined; error?: string | undefined; typedName?: string }) {
  const admin = props.session.admin.role === 'admin';
  return (
    <Layout title="Groups" session={props.session} nav="groups">
      <h1>Device groups</h1>
      <Notices notice={props.notice} error={props.error} />
      <p>Groups are made by hand, of Apple and Android devices alike; a policy assigned to a group wins over one assigned to a platform, an ownership or all devices.</p>
      {props.groups.length ? (
        <DataTable columns={['Name', 'Devices', 'Created']} testId="groups">
          {props.groups.map((g) => (
            <tr>
              <td>
                <a href={`/groups/${g.id}`}>{g.name}</a>
              </td>
              <td class="num">{g.members}</td>
              <td>{when(g.createdAt)}</td>
            </tr>
          ))}
        </DataTable>
      ) : (
        <p class="muted">No groups yet.</p>
      )}
      {admin ? (
        <form method="post" action="/groups" class="card">
          <CsrfField session={props.session} />
          <h2>New group</h2>
          <label for="group-name">Name</label>
          <input id="group-name" name="name" required maxlength={100} autocomplete="off" value={props.typedName ?? ''} />
          <div class="form-actions">
            <button type="submit">Create group</button>
          </div>
        </form>
      ) : null}
    </Layout>
  );
}

export function GroupPage(props: { session: Session; group: { id: string; name: string; createdAt: number }; members: MemberItem[]; policies: Array<{ id: string; name: string }>; notice?: string | undefined; error?: string | undefined }) {
  const { group: g, session } = props;
  const admin = session.admin.role === 'admin';
  return (
    <Layout title={g.name} session={session} nav="groups">
      <ItemHeading back={{ href: '/groups', label: 'Groups' }} title={g.name} notice={props.notice} error={props.error} />
      <p>
        Created {when(g.createdAt)}.{' '}
        {props.policies.length ? (
          <>
            Policies assigned to it:{' '}
            {props.policies.map((p, i) => (
              <>
                {i ? ', ' : ''}
                <a href={`/policies/${p.id}`}>{p.name}</a>
              </>
            ))}
            .
          </>
        ) : (
          'No policy is assigned to it.'
        )}
      </p>
      <h2>Devices</h2>
      {props.members.length ? (
        <DataTable columns={admin ? ['Device', 'Id', 'Actions'] : ['Device', 'Id']} testId="members">
          {props.members.map((m) => (
            <tr>
              <td>
                <a href={`/devices/${encodeURIComponent(m.id)}`}>{m.name ?? m.id}</a>
              </td>
              <td class="break">{m.id}</td>
              {admin ? (
                <td>
                  <PostButton session={session} action={`/groups/${g.id}/members/${encodeURIComponent(m.id)}/remove`} label={`Remove ${m.name ?? m.id}`} />
                </td>
              ) : null}
            </tr>
          ))}
        </DataTable>
      ) : (
        <p class="muted">No devices in this group.</p>
      )}
      {admin ? (
        <>
          <form method="post" action={`/groups/${g.id}/members`} class="card">
            <CsrfField session={session} />
            <h3>Add a device</h3>
            <label for="member-device">Device id (the id in the device's address, /devices/…)</label>
            <input id="member-device" name="device_id" required autocomplete="off" />
            <div class="form-actions">
              <button type="submit">Add device</button>
            </div>
          </form>
          <h2>Delete</h2>
          <TypedDelete
            session={session}
            action={`/groups/${g.id}/delete`}
            thing="group"
            name={g.name}
            inputId="group-delete-confirm"
            about="Deleting the group removes its assignments; its devices get the policy that applies to them otherwise."
          />
        </>
      ) : null}
    </Layout>
  );
}
