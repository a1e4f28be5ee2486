import type { Session } from '../../admins/service.ts';
import { DEVICE_PLATFORMS } from '../../api/device-service.ts';
import type { FleetRow } from '../../devices/fleet-queries.ts';
import type { ComplianceState, SortDir, SortKey } from '../../devices/fleet-sort.ts';
import { Layout, when } from '../layout.tsx';
import { platformName } from './dashboard.tsx';

export interface DeviceFilters {
  q: string;
  platform: string;
  enrolled: '' | 'true' | 'false';
  ownership: '' | 'corporate' | 'personal';
  /** Last seen: within a day or a week, or not for 30 days. */
  seen: '' | '1d' | '7d' | 'not30d';
  compliance: '' | ComplianceState;
  /** '': id order. */
  sort: '' | SortKey;
  dir: SortDir;
  after: string;
}

export const SEEN_FILTERS = { '1d': 'In the last 24 hours', '7d': 'In the last 7 days', not30d: 'Not for 30 days' } as const;
export const COMPLIANCE_NAMES: Record<ComplianceState, string> = { compliant: 'Compliant', noncompliant: 'Not compliant', unknown: 'Unknown' };

/** The table's columns; those with a key sort. Dates start newest first, the rest A to Z. */
const COLUMNS: Array<{ label: string; sort?: SortKey; first?: SortDir }> = [
  { label: 'Name', sort: 'name' },
  { label: 'Serial number' },
  { label: 'Model', sort: 'model' },
  { label: 'OS', sort: 'os' },
  { label: 'User' },
  { label: 'Status' },
  { label: 'Compliance', sort: 'compliance' },
  { label: 'Enrolled', sort: 'enrolled', first: 'desc' },
  { label: 'Last seen', sort: 'last_seen', first: 'desc' },
];

const query = (f: DeviceFilters, after: string) => {
  const p = new URLSearchParams();
  if (f.q) p.set('q', f.q);
  if (f.platform) p.set('platform', f.platform);
  if (f.enrolled) p.set('enrolled', f.enrolled);
  if (f.ownership) p.set('ownership', f.ownership);
  if (f.seen) p.set('seen', f.seen);
  if (f.compliance) p.set('compliance', f.compliance);
  if (f.sort) {
    p.set('sort', f.sort);
    p.set('dir', f.dir);
  }
  if (after) p.set('after', after);
  const s = p.toString();
  return s ? `/devices?${s}` : '/devices';
};

/** A link that works as one without JavaScript and, with htmx, swaps `#results` alone. */
const htmx = (href: string) => ({ href, 'hx-get': href, 'hx-target': '#results', 'hx-swap': 'outerHTML', 'hx-push-url': 'true' });

/** A column heading: a link to sort by it (the other way when it is the sort already), and aria-sort for screen readers. */
function SortHeading(props: { filters: DeviceFilters; label: string; sort?: SortKey; first?: SortDir }) {
  const f = props.filters;
  if (!props.sort) return <th scope="col">{props.label}</th>;
  const current = f.sort === props.sort;
  const dir: SortDir = current ? (f.dir === 'asc' ? 'desc' : 'asc') : (props.first ?? 'asc');
  const arrow = current ? (f.dir === 'asc' ? ' ▲' : ' ▼') : '';
  return (
    <th scope="col" aria-sort={current ? (f.dir === 'asc' ? 'ascending' : 'descending') : undefined}>
      <a {...htmx(query({ ...f, sort: props.sort, dir }, ''))} class="sort" title={`Sort by ${props.label.toLowerCase()}, ${dir === 'asc' ? 'ascending' : 'descending'}`}>
        {props.label}
        {arrow}
      </a>
    </th>
  );
}

/** The sort, carried by the search form so a new search keeps it; htmx swaps it out of band as the sort changes. */
export function SortFields(props: { filters: DeviceFilters; oob?: boolean }) {
  const f = props.filters;
  return (
    <span id="sort-fields" hx-swap-oob={props.oob ? 'true' : undefined}>
      {f.sort ? <input type="hidden" name="sort" value={f.sort} /> : null}
      {f.sort ? <input type="hidden" name="dir" value={f.dir} /> : null}
    </span>
  );
}

/** The table and pager: the whole of `#results`, which htmx replaces as the filters and sort change. */
export function DeviceResults(props: { filters: DeviceFilters; rows: FleetRow[]; nextAfter: string | null }) {
  const { filters: f, rows } = props;
  return (
    <div id="results" aria-live="polite">
      {rows.length === 0 ? (
        <p>{f.q || f.platform || f.enrolled || f.ownership || f.seen || f.compliance ? 'No device matches.' : 'No devices yet.'}</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="devices">
            <thead>
              <tr>
                {COLUMNS.map((c) => (
                  <SortHeading filters={f} {...c} />
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr data-id={d.id}>
                  <td>
                    <a href={`/devices/${encodeURIComponent(d.id)}`}>{d.deviceName ?? d.id}</a>
                  </td>
                  <td>{d.serialNumber ?? '—'}</td>
                  <td>{d.modelName ?? d.model ?? '—'}</td>
                  <td>{d.osVersion ? `${platformName(d.platform)} ${d.osVersion}` : platformName(d.platform)}</td>
                  <td>{d.userEmail ?? '—'}</td>
                  <td class="status">{d.status ?? 'unknown'}</td>
                  <td class="status">{COMPLIANCE_NAMES[(d.compliance ?? 'unknown') as ComplianceState] ?? d.compliance}</td>
                  <td>{when(d.enrolledAt)}</td>
                  <td>{when(d.lastSeenAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Pages">
        {f.after ? <a {...htmx(query(f, ''))}>First page</a> : null}
        {props.nextAfter ? <a {...htmx(query(f, props.nextAfter))}>Next page</a> : null}
      </nav>
    </div>
  );
}

/** One filter of the search form: a labelled select whose change re-runs the search (class filter-select). */
function FilterSelect(props: { name: string; label: string; any: string; value: string; options: Array<[value: string, text: string]> }) {
  return (
    <div>
      <label for={props.name}>{props.label}</label>
      <select id={props.name} name={props.name} class="filter-select">
        <option value="">{props.any}</option>
        {props.options.map(([value, text]) => (
          <option value={value} selected={props.value === value}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

export function DevicesPage(props: { session: Session; filters: DeviceFilters; rows: FleetRow[]; nextAfter: string | null }) {
  const f = props.filters;
  return (
    <Layout title="Devices" session={props.session} nav="devices">
      <h1>Devices</h1>
      {/* Without JavaScript this is a plain GET form; htmx searches as you type and swaps #results only. */}
      <form
        method="get"
        action="/devices"
        role="search"
        class="filters"
        hx-get="/devices"
        hx-target="#results"
        hx-swap="outerHTML"
        hx-push-url="true"
        hx-trigger="submit, input changed delay:250ms from:#q, change from:.filter-select"
      >
        <div>
          <label for="q">Search</label>
          <input id="q" name="q" type="search" value={f.q} placeholder="Name, serial number, user or model" autocomplete="off" />
        </div>
        <FilterSelect name="platform" label="Platform" any="All" value={f.platform} options={DEVICE_PLATFORMS.map((p) => [p, platformName(p)])} />
        <FilterSelect name="enrolled" label="Enrollment" any="Any" value={f.enrolled} options={[['true', 'Enrolled'], ['false', 'Not enrolled']]} />
        <FilterSelect name="ownership" label="Ownership" any="Any" value={f.ownership} options={[['corporate', 'Company'], ['personal', 'Personal']]} />
        <FilterSelect name="seen" label="Last seen" any="Any time" value={f.seen} options={Object.entries(SEEN_FILTERS)} />
        <FilterSelect name="compliance" label="Compliance" any="Any" value={f.compliance} options={Object.entries(COMPLIANCE_NAMES)} />
        <SortFields filters={f} />
        <div>
          <button type="submit">Search</button>
        </div>
      </form>
      <DeviceResults filters={f} rows={props.rows} nextAfter={props.nextAfter} />
    </Layout>
  );
}
