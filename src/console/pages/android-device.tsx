import type { Session } from '../../admins/service.ts';
import type { AndroidDeviceDetails } from '../../api/device-service.ts';
import { commandRefusal, type AndroidCommandType } from '../../android/commands.ts';
import type { WipePlan } from '../../android/wipe.ts';
import { CsrfField, DataTable } from '../layout.tsx';
import { at, CommandHistory, DeviceFrame, Facts, type History } from './device.tsx';
import { CompliancePanel, type ComplianceView } from './compliance-panel.tsx';
import { GroupsPanel, type GroupsPanelView } from './groups-panel.tsx';

const MODES: Record<string, string> = { DEVICE_OWNER: 'Fully managed', PROFILE_OWNER: 'Work profile' };
const sorted = (o: Record<string, unknown> | null) => (o ? Object.entries(o).sort(([a], [b]) => a.localeCompare(b)) : []);

/** Commands the console offers without parameters, those the device can run only. */
const QUICK: Array<[AndroidCommandType, string, string]> = [
  ['LOCK', 'Lock', 'Locks the screen now (a work profile: the work profile).'],
  ['REBOOT', 'Reboot', 'Restarts the device.'],
  ['STOP_LOST_MODE', 'Stop lost mode', 'Takes the device out of lost mode.'],
];

function Actions(props: { device: AndroidDeviceDetails; session: Session; confirmWipe?: WipePlan }) {
  const d = props.device;
  const base = `/devices/${encodeURIComponent(d.id)}`;
  if (d.status !== 'enrolled') return <p>Actions are available while the device is enrolled.</p>;
  const facts = { managementMode: d.management_mode, ownership: d.ownership, apiLevel: d.api_level };
  return (
    <div class="actions">
      {QUICK.filter(([type]) => commandRefusal(type, facts) === null && (type === 'STOP_LOST_MODE') === (d.state === 'LOST')).map(([type, label, text]) => (
        <form method="post" action={`${base}/android-command`} class="card">
          <CsrfField session={props.session} />
          <input type="hidden" name="type" value={type} />
          <h3>{label}</h3>
          <p class="muted">{text}</p>
          <div class="form-actions">
            <button type="submit">{label}</button>
          </div>
        </form>
      ))}
      <form method="post" action={`${base}/wipe`} class="card" data-testid="wipe">
        <CsrfField session={props.session} />
        <h3>Wipe</h3>
        {props.confirmWipe ? (
          <>
            <p>
              <strong>{props.confirmWipe.effect === 'factory_reset' ? 'Factory reset' : 'Work profile removed'}</strong>: {props.confirmWipe.description}.
            </p>
            <input type="hidden" name="confirm" value="yes" />
            {props.confirmWipe.effect === 'work_profile_removed' ? (
              <>
                <label for="wipe-reason">Message shown to the user (optional)</label>
                <input id="wipe-reason" name="reason" maxlength={200} />
              </>
            ) : null}
            <div class="form-actions">
              <button type="submit" class="danger">
                Wipe now
              </button>
            </div>
          </>
        ) : (
          <>
            <p class="muted">Shows what a wipe does to this device before anything is done.</p>
            <div class="form-actions">
              <button type="submit">Wipe…</button>
            </div>
          </>
        )}
      </form>
    </div>
  );
}

/** An Android device as Google last reported it: overview, policy and compliance, hardware and software, commands. */
export function AndroidDevicePage(props: { session: Session; device: AndroidDeviceDetails; history: History; compliance: ComplianceView; groups: GroupsPanelView; notice?: string; error?: string; confirmWipe?: WipePlan }) {
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

      <CompliancePanel compliance={props.compliance} />
      <GroupsPanel session={props.session} view={props.groups} />

      {props.session.admin.role === 'admin' ? (
        <>
          <h2>Actions</h2>
          <Actions device={d} session={props.session} confirmWipe={props.confirmWipe} />
        </>
      ) : null}

      <CommandHistory history={props.history} />

      <h2>Hardware</h2>
      {d.hardware_info ? <Facts items={sorted(d.hardware_info)} /> : <p>Not reported yet.</p>}
      <h2>Software</h2>
      {d.software_info ? <Facts items={sorted(d.software_info)} /> : <p>Not reported yet.</p>}
    </DeviceFrame>
  );
}
