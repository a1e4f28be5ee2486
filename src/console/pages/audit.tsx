import type { Session } from '../../admins/service.ts';
import type { AuditEntry } from '../../audit/service.ts';
import { Banner, DataTable, Layout, when } from '../layout.tsx';

/** The filters as typed: shown back in the form and carried by the "older" link. */
export interface AuditForm {
  actor: string;
  action: string;
  target: string;
  from: string;
  to: string;
}

const ACTOR_KINDS: Record<string, string> = { admin: 'admin', api_token: 'API token', system: 'appliance' };

const query = (f: AuditForm, before: number | null) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
  if (before !== null) p.set('before', String(before));
  const s = p.toString();
  return s ? `/audit?${s}` : '/audit';
};

/** The table and pager: the whole of `#audit-results`, which htmx replaces as the filters change. */
export function AuditResults(props: { form: AuditForm; entries: AuditEntry[]; nextBefore: number | null; paged: boolean; error?: string }) {
  const { form: f, entries } = props;
  const htmx = (href: string) => ({ href, 'hx-get': href, 'hx-target': '#audit-results', 'hx-push-url': 'true' });
  return (
    <div id="audit-results" aria-live="polite">
      {props.error ? <Banner kind="error">{props.error}</Banner> : null}
      {entries.length === 0 ? (
        <p>{Object.values(f).some(Boolean) ? 'No change matches.' : 'No changes recorded yet.'}</p>
      ) : (
        <DataTable columns={['When', 'Who', 'Action', 'Target', 'From', 'Details']} testId="audit">
          {entries.map((e) => (
            <tr data-action={e.action}>
              <td>{when(e.at)}</td>
              <td>
                {e.actorName} <span class="muted">({ACTOR_KINDS[e.actorKind] ?? e.actorKind})</span>
              </td>
              <td>
                <code>{e.action}</code>
              </td>
              <td>
                {e.targetType === null ? (
                  '—'
                ) : (
                  <>
                    {e.targetType === 'device' && e.targetId ? <a href={`/devices/${encodeURIComponent(e.targetId)}`}>{e.targetLabel ?? e.targetId}</a> : (e.targetLabel ?? e.targetId)}{' '}
                    <span class="muted">({e.targetType})</span>
                  </>
                )}
              </td>
              <td>{e.address ?? '—'}</td>
              <td>{e.details ? <code class="details">{JSON.stringify(e.details)}</code> : '—'}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <nav class="pager" aria-label="Pages">
        {props.paged ? <a {...htmx(query(f, null))}>Newest</a> : null}
        {props.nextBefore !== null ? <a {...htmx(query(f, props.nextBefore))}>Older</a> : null}
      </nav>
    </div>
  );
}

export function AuditPage(props: { session: Session; form: AuditForm; entries: AuditEntry[]; nextBefore: number | null; paged: boolean; error?: string }) {
  const f = props.form;
  return (
    <Layout title="Audit log" session={props.session} nav="audit">
      <h1>Audit log</h1>
      <p class="muted">Every change made in this console, through the API or with the mdm command, newest first.</p>
      {/* Without JavaScript a plain GET form; htmx swaps #audit-results only. */}
      <form method="get" action="/audit" role="search" class="filters wide" hx-get="/audit" hx-target="#audit-results" hx-push-url="true">
        <div>
          <label for="audit-actor">Who (username or token name)</label>
          <input id="audit-actor" name="actor" value={f.actor} maxlength={200} autocomplete="off" />
        </div>
        <div>
          <label for="audit-action">Action (or its start, such as device)</label>
          <input id="audit-action" name="action" value={f.action} maxlength={100} autocomplete="off" />
        </div>
        <div>
          <label for="audit-target">Target (id or name)</label>
          <input id="audit-target" name="target" value={f.target} maxlength={300} autocomplete="off" />
        </div>
        <div>
          <label for="audit-from">From (date)</label>
          <input id="audit-from" name="from" type="date" value={f.from} />
        </div>
        <div>
          <label for="audit-to">To (date)</label>
          <input id="audit-to" name="to" type="date" value={f.to} />
        </div>
        <div>
          <button type="submit">Filter</button>
        </div>
      </form>
      <AuditResults form={f} entries={props.entries} nextBefore={props.nextBefore} paged={props.paged} error={props.error} />
    </Layout>
  );
}
