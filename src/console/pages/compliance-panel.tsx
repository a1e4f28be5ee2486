import { iso } from '../../api/http.ts';
import type { Compliance } from '../../compliance/service.ts';
import { DataTable } from '../layout.tsx';
import { at } from './device.tsx';

export type ComplianceView = ReturnType<Compliance['get']>;

const STATES: Record<string, string> = { compliant: 'Compliant', noncompliant: 'Not compliant', unknown: 'Not known yet' };
const REASONS: Record<string, string> = { no_policy: 'no policy applies to this device', not_reported: 'the device has not reported what its policy needs' };

/** The device's compliance with its effective policy: state, what fails, and the latest changes. */
export function CompliancePanel(props: { compliance: ComplianceView }) {
  const c = props.compliance.current;
  const state = c?.state ?? 'unknown';
  const reason = c?.reason ?? (c ? null : 'not_reported');
  return (
    <section data-testid="compliance">
      <h2>Compliance</h2>
      <p>
        <strong data-testid="compliance-state" class={`state-${state}`}>{STATES[state] ?? state}</strong>
        {reason ? ` — ${REASONS[reason] ?? reason}` : null}
        {c ? ` (checked ${at(iso(c.evaluatedAt))}${c.policyId ? `, policy version ${c.policyVersion}` : ''})` : null}
      </p>
      {c?.failingRules.length ? (
        <DataTable columns={['Rule', 'What fails']} testId="compliance-failing">
          {c.failingRules.map((r) => (
            <tr>
              <td>
                <code>{r.id}</code>
              </td>
              <td>{r.message}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      {props.compliance.timeline.length ? (
        <DataTable columns={['When', 'State', 'Was', 'Failing rules']} testId="compliance-timeline">
          {props.compliance.timeline.map((e) => (
            <tr>
              <td>{at(iso(e.at))}</td>
              <td>{STATES[e.state] ?? e.state}</td>
              <td>{e.previousState ? (STATES[e.previousState] ?? e.previousState) : '—'}</td>
              <td>{e.failingRules.map((r) => r.id).join(', ') || '—'}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}
    </section>
  );
}
