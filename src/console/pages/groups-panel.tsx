import type { Session } from '../../admins/service.ts';
import { CsrfField, PostButton } from '../layout.tsx';

export interface GroupsPanelView {
  deviceId: string;
  /** The groups the device is in. */
  member: Array<{ id: string; name: string }>;
  /** Every group, for the add form. */
  all: Array<{ id: string; name: string }>;
}

/**
 * A device's groups, on its page: a policy assigned to a group wins over the others, so putting a
 * device in one is how an admin gives it a different policy; done here, without its id to copy.
 */
export function GroupsPanel(props: { session: Session; view: GroupsPanelView }) {
  const { deviceId, member, all } = props.view;
  const admin = props.session.admin.role === 'admin';
  const base = `/devices/${encodeURIComponent(deviceId)}/groups`;
  const others = all.filter((g) => !member.some((m) => m.id === g.id));
  return (
    <section data-testid="groups-panel">
      <h2>Groups</h2>
      {member.length ? (
        <ul>
          {member.map((g) => (
            <li>
              <a href={`/groups/${g.id}`}>{g.name}</a>
              {admin ? <PostButton session={props.session} action={`${base}/${g.id}/remove`} label={`Take out of ${g.name}`} /> : null}
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">In no group.</p>
      )}
      {admin && others.length ? (
        <form method="post" action={base}>
          <CsrfField session={props.session} />
          <label for="device-group">Add to group</label>
          <select id="device-group" name="group_id" required>
            {others.map((g) => (
              <option value={g.id}>{g.name}</option>
            ))}
          </select>
          <div class="form-actions">
            <button type="submit">Add to group</button>
          </div>
        </form>
      ) : null}
    </section>
  );
}
