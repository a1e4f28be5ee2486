import type { Session } from '../../admins/service.ts';
import type { AndroidDeviceDetails } from '../../api/device-service.ts';
import { DataTable } from '../layout.tsx';
import { at, CommandHistory, DeviceFrame, Facts, type History } from './device.tsx';

const MODES: Record<string, string> = { DEVICE_OWNER: 'Fully managed', PROFILE_OWNER: 'Work profile' };
const sorted = (o: Record<string, unknown> | null) => (o ? Object.entries(o).sort(([a], [b]) => a.localeCompare(b)) : []);

/** An Android device as Google last reported it: overview, policy and compliance, hardware and software, commands. */
export function AndroidDevicePage(props: { session: Session; device: AndroidDeviceDetails; history: History; notice?: string; error?: string }) {
  const d = props.device;
  const name = d.device_name ?? d.google_name;
  const issues = d.non_compliance_details as Array<Record<string, unknown>>;
  return (
    <DeviceFrame name={name} session={props.session} notice={props.notice} error={props.error}>

      <h2>Overview</h2>
      <Facts
        items={[
          ['Status', d.status],
          ['State at Google', d.state],
          ['Management', d.management_mode ? (MODES[d.management_mode] ?? d.management_mode) : null],
          ['Ownership', d.ownership],
          ['User', d.user_email],
          ['Serial number', d.serial_number],
          ['Model', d.model ? `${d.manufacturer ?? d.brand ?? ''} ${d.model}`.trim() : null],
          ['OS', d.os_version ? `Android ${d.os_version} (API ${d.api_level ?? '?'})` : 'Android'],
          ['Security patch level', d.security_patch_level],
          ['Enrolled', at(d.enrolled_at)],
          ['Last status report', at(d.last_status_report_at)],
          ['Last policy sync', at(d.last_policy_sync_at)],
          ['Google name', d.google_name],
        ]}
      />

      <h2>Policy and compliance</h2>
      <Facts
        items={[
          ['Policy', d.policy.name],
          ['Applied policy', d.policy.applied_name],
          ['Applied version', d.policy.applied_version],
          ['Applied state', d.policy.applied_state],
          ['Compliant', d.policy_compliant === null ? null : d.policy_compliant ? 'yes' : 'no'],
        ]}
      />
      {issues.length ? (
        <DataTable columns={['Setting', 'Reason', 'Package', 'Detail']} testId="non-compliance">
          {issues.map((i) => (
            <tr>
              <td>{String(i.settingName ?? '—')}</td>
              <td>{String(i.nonComplianceReason ?? '—')}</td>
              <td>{String(i.packageName ?? '—')}</td>
              <td>{String(i.specificNonComplianceReason ?? i.fieldPath ?? '—')}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}

      <CommandHistory history={props.history} />

      <h2>Hardware</h2>
      {d.hardware_info ? <Facts items={sorted(d.hardware_info)} /> : <p>Not reported yet.</p>}
      <h2>Software</h2>
      {d.software_info ? <Facts items={sorted(d.software_info)} /> : <p>Not reported yet.</p>}
    </DeviceFrame>
  );
}
