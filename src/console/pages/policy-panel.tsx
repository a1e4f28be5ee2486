import type { Session } from '../../admins/service.ts';
import type { PolicyRef } from '../../policy/compile-apple.ts';
import { DataTable, PostButton } from '../layout.tsx';

/** What enforcement asked of an Apple device, as the enforcers report it (JSON-ready rows). */
export interface PolicyPanelView {
  policy: PolicyRef | null;
  profiles: Array<{ identifier: string; policy: { name: string; version: number }; state: string; error: { code: string; message: string | null } | null; updated_at: string }>;
  apps: Array<{ bundle_id: string; state: string; device_state: string | null; error: { code: string; message: string | null } | null; updated_at: string }>;
}

const ErrorText = (props: { error: { code: string; message: string | null } | null }) =>
  props.error ? (
    <>
      <code>{props.error.code}</code> {props.error.message}
    </>
  ) : (
    <>—</>
  );

/**
 * The device's effective policy and what reaching it took: each policy profile and managed app
 * with its state (pending, installed, failed with the device's own error, removing), so an admin
 * sees why a device is not where the policy says without reading command history.
 */
export function PolicyPanel(props: { session: Session; deviceId: string; view: PolicyPanelView }) {
  const { policy, profiles, apps } = props.view;
  const refused = [...profiles, ...apps].some((x) => x.state === 'failed' || x.state === 'remove_failed');
  return (
    <section data-testid="policy-panel">
      <h2>Policy</h2>
      {policy ? (
        <p>
          In force: <a href={`/policies/${encodeURIComponent(policy.id)}`}>{policy.name}</a>, version {policy.version}.
        </p>
      ) : (
        <p>No policy applies to this device.</p>
      )}
      {profiles.length ? (
        <DataTable columns={['Profile', 'Policy', 'State', 'Error', 'Updated']}>
          {profiles.map((p) => (
            <tr data-state={p.state}>
              <td>
                <code>{p.identifier}</code>
              </td>
              <td>
                {p.policy.name} v{p.policy.version}
              </td>
              <td>{p.state}</td>
              <td>
                <ErrorText error={p.error} />
              </td>
              <td>{p.updated_at}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      {apps.length ? (
        <>
          <h3>Managed apps</h3>
          <DataTable columns={['App', 'State', 'Device says', 'Error', 'Updated']}>
            {apps.map((a) => (
              <tr data-state={a.state}>
                <td>
                  <code>{a.bundle_id}</code>
                </td>
                <td>{a.state}</td>
                <td>{a.device_state ?? '—'}</td>
                <td>
                  <ErrorText error={a.error} />
                </td>
                <td>{a.updated_at}</td>
              </tr>
            ))}
          </DataTable>
        </>
      ) : null}
      {refused && props.session.admin.role === 'admin' ? (
        <>
          <p class="muted">Fixed what the device refused for (an approval, a restriction)? Send it again:</p>
          <PostButton session={props.session} action={`/devices/${encodeURIComponent(props.deviceId)}/enforce`} label="Send again what failed" />
        </>
      ) : null}
    </section>
  );
}
