import type { Child } from 'hono/jsx';
import { PolicyPanel, type PolicyPanelView } from './policy-panel.tsx';
import { GroupsPanel, type GroupsPanelView } from './groups-panel.tsx';
import type { Session } from '../../admins/service.ts';
import type { DeviceViews } from '../../api/device-service.ts';
import type { FleetQueries } from '../../devices/fleet-queries.ts';
import { Banner, Layout, when, DataTable } from '../layout.tsx';
import { AppleDeviceActions, type Availability } from './device-actions.tsx';
import { platformName } from './dashboard.tsx';
import { CompliancePanel, type ComplianceView } from './compliance-panel.tsx';

type Device = ReturnType<DeviceViews['get']>;
export type History = ReturnType<FleetQueries['commandHistory']>;

export const at = (iso: string | null) => (iso === null ? '—' : when(Date.parse(iso)));
const show = (v: unknown): string => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function Facts(props: { items: Array<[string, unknown]> }) {
  return (
    <dl class="facts">
      {props.items.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{show(v)}</dd>
        </>
      ))}
    </dl>
  );
}

/** A device page's frame: the way back, the name, the outcome of the last action. */
export function DeviceFrame(props: { name: string; session: Session; notice?: string; error?: string; children: Child }) {
  return (
    <Layout title={props.name} session={props.session} nav="devices">
      <p>
        <a href="/devices">← Devices</a>
      </p>
      <h1>{props.name}</h1>
      {props.notice ? <Banner kind="ok">{props.notice}</Banner> : null}
      {props.error ? <Banner kind="error">{props.error}</Banner> : null}
      {props.children}
    </Layout>
  );
}

/** The device's commands, Apple or Android, newest first. */
export function CommandHistory(props: { history: History }) {
  return (
    <>
      <h2>Command history</h2>
      {props.history.length === 0 ? (
        <p>No commands yet.</p>
      ) : (
        <DataTable columns={['Command', 'Status', 'Queued', 'Updated', 'By']} testId="history">
          {props.history.map((h) => (
            <tr data-request-type={h.requestType}>
              <td>{h.requestType}</td>
              <td class="status">
                {h.status}
                {h.detail ? <span class="muted"> — {h.detail}</span> : null}
              </td>
              <td>{when(h.queuedAt)}</td>
              <td>{when(h.updatedAt)}</td>
              <td>{h.createdBy ?? 'appliance'}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}

/** `available` is null for read-only admins and devices not enrolled: no actions are shown then. */
export function DevicePage(props: { session: Session; device: Device; available: Availability | null; history: History; compliance: ComplianceView; policy: PolicyPanelView; groups: GroupsPanelView; notice?: string; error?: string }) {
  const d = props.device;
  const info = (d.inventory.device_information ?? {}) as Record<string, unknown>;
  const security = (d.inventory.security_info ?? null) as Record<string, unknown> | null;
  const apps = Array.isArray(d.inventory.installed_apps) ? (d.inventory.installed_apps as Array<Record<string, unknown>>) : [];
  const profiles = Array.isArray(d.inventory.profiles) ? (d.inventory.profiles as Array<Record<string, unknown>>) : [];
  const name = d.device_name ?? d.id;
  return (
    <DeviceFrame name={name} session={props.session} notice={props.notice} error={props.error}>

      <h2>Overview</h2>
      <Facts
        items={[
          ['Status', d.enrollment_status ?? 'unknown'],
          ['Serial number', d.serial_number],
          ['Model', d.model_name ? `${d.model_name} (${d.model ?? d.product_name ?? '?'})` : d.model],
          ['OS', d.os_version ? `${platformName(d.platform)} ${d.os_version} (${d.build_version ?? '?'})` : platformName(d.platform)],
          ['Ownership', d.ownership],
          ['User', d.user_email],
          ['Supervised', d.supervised === null ? null : d.supervised ? 'yes' : 'no'],
          ['Enrolled', at(d.enrolled_at)],
          ['Last seen', at(d.last_seen_at)],
          ['UDID', d.udid ?? d.id],
        ]}
      />

      <CompliancePanel compliance={props.compliance} />
      <PolicyPanel session={props.session} deviceId={d.id} view={props.policy} />
      <GroupsPanel session={props.session} view={props.groups} />

      {props.session.admin.role === 'admin' ? (
        <>
          <h2>Actions</h2>
          {props.available ? <AppleDeviceActions device={d} session={props.session} available={props.available} /> : <p>Actions are available while the device is enrolled.</p>}
        </>
      ) : null}

      <CommandHistory history={props.history} />

      <h2>Inventory</h2>
      <p class="muted">Updated {at(d.inventory.updated_at)}</p>
      {Object.keys(info).length ? <Facts items={Object.entries(info).sort(([a], [b]) => a.localeCompare(b))} /> : <p>Not reported yet.</p>}
      {security ? (
        <>
          <h3>Security</h3>
          <Facts items={Object.entries(security).sort(([a], [b]) => a.localeCompare(b))} />
        </>
      ) : null}
      <h3>Apps ({apps.length})</h3>
      {apps.length ? (
        <DataTable columns={['Name', 'Identifier', 'Version']}>
          {apps.slice(0, 500).map((a) => (
            <tr>
              <td>{show(a.Name)}</td>
              <td>{show(a.Identifier)}</td>
              <td>{show(a.ShortVersion ?? a.Version)}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      <h3>Profiles ({profiles.length})</h3>
      {profiles.length ? (
        <ul>
          {profiles.map((p) => (
            <li>{show(p.PayloadDisplayName ?? p.PayloadIdentifier)}</li>
          ))}
        </ul>
      ) : null}

      <h2>Channels</h2>
      <DataTable columns={['Enrollment', 'Type', 'Status', 'Push', 'Last seen']}>
        {d.channels.map((ch) => (
          <tr>
            <td>{ch.enrollment_id}</td>
            <td>{ch.type}</td>
            <td>{ch.status}</td>
            <td>{ch.push_blocked ? `blocked: ${ch.push_blocked}` : ch.push_ready ? `ready${ch.last_push_result ? `, last ${ch.last_push_result} ${at(ch.last_push_at)}` : ''}` : 'no token yet'}</td>
            <td>{at(ch.last_seen_at)}</td>
          </tr>
        ))}
      </DataTable>
    </DeviceFrame>
  );
}
