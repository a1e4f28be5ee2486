import type { Session } from '../../admins/service.ts';
import type { ExpiryState } from '../../push/expiry.ts';
import { Banner, Layout } from '../layout.tsx';

export interface DashboardData {
  /** Devices by enrollment state; the compliance counts are of the enrolled ones (device_compliance; no verdict is unknown). */
  platforms: Array<{ platform: string; enrolled: number; pending: number; unenrolled: number; compliant: number; noncompliant: number; unknown: number }>;
  enrolledLast7Days: number;
  androidBound: boolean;
  push: { state: ExpiryState; daysLeft: number; topic: string } | null;
  ca: { state: ExpiryState; daysLeft: number };
}

const PLATFORM_NAMES: Record<string, string> = { ios: 'iOS', ipados: 'iPadOS', macos: 'macOS', tvos: 'tvOS', watchos: 'watchOS', visionos: 'visionOS', android: 'Android', unknown: 'Not known yet' };
export const platformName = (p: string | null) => PLATFORM_NAMES[p ?? 'unknown'] ?? p ?? 'Not known yet';

function PushBanner(props: { push: DashboardData['push'] }) {
  const p = props.push;
  if (!p) {
    return (
      <Banner kind="error">
        No Apple push certificate is installed: Apple devices cannot enroll, and queued commands wait until a device checks in by itself. See
        "The Apple push certificate" in the README (<code>mdm push csr</code>, then <code>mdm push import</code>).
      </Banner>
    );
  }
  if (p.state === 'ok') return null;
  const text =
    p.state === 'expired'
      ? `The Apple push certificate (${p.topic}) has expired: devices cannot be reached. Renew it with the same Apple ID on Apple's portal.`
      : `The Apple push certificate (${p.topic}) expires in ${p.daysLeft} days. Renew it (not a new one) with the same Apple ID, or every device must re-enroll.`;
  return <Banner kind={p.state === 'expiring' ? 'warn' : 'error'}>{text}</Banner>;
}

export function DashboardPage(props: { session: Session; data: DashboardData }) {
  const { data } = props;
  const total = (k: Exclude<keyof DashboardData['platforms'][number], 'platform'>) => data.platforms.reduce((n, p) => n + p[k], 0);
  return (
    <Layout title="Dashboard" session={props.session} nav="dashboard">
      <h1>Dashboard</h1>
      <PushBanner push={data.push} />
      {data.ca.state !== 'ok' ? (
        <Banner kind={data.ca.state === 'expiring' ? 'warn' : 'error'}>
          {data.ca.state === 'expired'
            ? 'The appliance CA certificate has expired: devices can no longer renew their identities.'
            : `The appliance CA certificate expires in ${data.ca.daysLeft} days.`}
        </Banner>
      ) : null}
      {data.androidBound ? null : (
        <Banner kind="warn">
          No Android enterprise is bound: Android devices cannot enroll. <a href="/android">Bind one</a>.
        </Banner>
      )}
      <div class="cards">
        <div class="card">
          <div class="big" data-testid="enrolled-total">{total('enrolled')}</div>
          <a href="/devices?enrolled=true">enrolled devices</a>
        </div>
        <div class="card">
          <div class="big">{total('pending')}</div>
          pending enrollment
        </div>
        <div class="card">
          <div class="big">{total('unenrolled')}</div>
          unenrolled or removed
        </div>
        <div class="card">
          <div class="big" data-testid="recent">{data.enrolledLast7Days}</div>
          enrolled in the last 7 days
        </div>
      </div>
      {total('enrolled') > 0 ? (
        <div class="cards" aria-label="Compliance of enrolled devices">
          <div class="card">
            <div class="big" data-testid="compliant">{total('compliant')}</div>
            <a href="/devices?enrolled=true&compliance=compliant">compliant</a> with their policy
          </div>
          <div class="card">
            <div class="big" data-testid="non-compliant">{total('noncompliant')}</div>
            <a href="/devices?enrolled=true&compliance=noncompliant">not compliant</a>
          </div>
          <div class="card">
            <div class="big" data-testid="compliance-unknown">{total('unknown')}</div>
            <a href="/devices?enrolled=true&compliance=unknown">compliance unknown</a> (not evaluated yet)
          </div>
        </div>
      ) : null}
      <h2>By platform</h2>
      {data.platforms.length === 0 ? (
        <p>No devices yet.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Platform</th>
                <th scope="col" class="num">Enrolled</th>
                <th scope="col" class="num">Pending</th>
                <th scope="col" class="num">Unenrolled</th>
                <th scope="col" class="num">Compliant</th>
                <th scope="col" class="num">Not compliant</th>
                <th scope="col" class="num">Unknown</th>
              </tr>
            </thead>
            <tbody>
              {data.platforms.map((p) => (
                <tr>
                  <th scope="row">
                    {p.platform === 'unknown' ? platformName(p.platform) : <a href={`/devices?platform=${encodeURIComponent(p.platform)}`}>{platformName(p.platform)}</a>}
                  </th>
                  <td class="num">{p.enrolled}</td>
                  <td class="num">{p.pending}</td>
                  <td class="num">{p.unenrolled}</td>
                  <td class="num" data-testid={`${p.platform}-compliant`}>{p.compliant}</td>
                  <td class="num" data-testid={`${p.platform}-non-compliant`}>{p.noncompliant}</td>
                  <td class="num" data-testid={`${p.platform}-compliance-unknown`}>{p.unknown}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Layout>
  );
}
