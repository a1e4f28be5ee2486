import type { Session } from '../../admins/service.ts';
import type { AppRow } from '../../apps/repo.ts';
import { CsrfField, DataTable, Layout, when, ItemHeading, Notices } from '../layout.tsx';

export const SOURCE_NAMES: Record<string, string> = { app_store: 'App Store', enterprise: 'Enterprise (in-house)', play: 'Google Play' };

/** What was typed into one of the add forms, kept when the catalog refused it. */
export type AppTyped = Record<string, string>;

function TextField(props: { id: string; name: string; label: string; typed: AppTyped | undefined; required?: boolean; type?: string; hint?: string }) {
  return (
    <>
      <label for={props.id}>{props.label}</label>
      {props.hint ? <p class="hint">{props.hint}</p> : null}
      <input id={props.id} name={props.name} type={props.type ?? 'text'} required={props.required} autocomplete="off" spellcheck={false} value={props.typed?.[props.name] ?? ''} />
    </>
  );
}

/** One add form per source: each asks only what its source needs, without script. */
function AddForm(props: { session: Session; source: 'app_store' | 'enterprise' | 'play'; typed: AppTyped | undefined }) {
  const s = props.source;
  const typed = props.typed?.source === s ? props.typed : undefined;
  return (
    <form method="post" action="/apps" class="card" data-testid={`add-${s}`}>
      <CsrfField session={props.session} />
      <input type="hidden" name="source" value={s} />
      <h3>Add a {SOURCE_NAMES[s]} app</h3>
      <TextField id={`${s}-name`} name="name" label="Name" typed={typed} required />
      {s === 'play' ? (
        <TextField id={`${s}-package`} name="package_name" label="Package name" hint="Such as com.example.mail." typed={typed} required />
      ) : (
        <TextField id={`${s}-bundle`} name="bundle_id" label="Bundle id" hint="Such as com.example.mail." typed={typed} required />
      )}
      {s === 'app_store' ? (
        <TextField id={`${s}-itunes`} name="itunes_store_id" label="iTunes store id (optional; Macs install App Store apps only by it)" type="text" typed={typed} />
      ) : null}
      {s === 'enterprise' ? <TextField id={`${s}-manifest`} name="manifest_url" label="Manifest URL (https)" type="url" typed={typed} required /> : null}
      <div class="form-actions">
        <button type="submit">Add app</button>
      </div>
    </form>
  );
}

export function AppsPage(props: { session: Session; apps: AppRow[]; notice?: string | undefined; error?: string | undefined; typed?: AppTyped }) {
  const admin = props.session.admin.role === 'admin';
  return (
    <Layout title="Apps" session={props.session} nav="apps">
      <h1>App catalog</h1>
      <Notices notice={props.notice} error={props.error} />
      <p>What the company's apps are and where each installs from. A policy's required apps say which devices get them.</p>
      {props.apps.length ? (
        <DataTable columns={['Name', 'Source', 'Bundle id / package', 'Installs from']} testId="apps">
          {props.apps.map((a) => (
            <tr>
              <td>
                <a href={`/apps/${a.id}`}>{a.name}</a>
              </td>
              <td>{SOURCE_NAMES[a.source] ?? a.source}</td>
              <td class="break">{a.identifier}</td>
              <td class="break">{a.manifestUrl ?? (a.itunesStoreId !== null ? `iTunes id ${a.itunesStoreId}` : a.source === 'play' ? 'Google Play' : 'bundle id (iPhone, iPad)')}</td>
            </tr>
          ))}
        </DataTable>
      ) : (
        <p class="muted">The catalog is empty.</p>
      )}
      {admin ? (
        <div class="actions">
          <AddForm session={props.session} source="app_store" typed={props.typed} />
          <AddForm session={props.session} source="enterprise" typed={props.typed} />
          <AddForm session={props.session} source="play" typed={props.typed} />
        </div>
      ) : null}
    </Layout>
  );
}

export function AppPage(props: { session: Session; app: AppRow; notice?: string | undefined; error?: string | undefined; typed?: AppTyped }) {
  const { app: a, session } = props;
  const admin = session.admin.role === 'admin';
  const typed = props.typed ?? { name: a.name, itunes_store_id: a.itunesStoreId === null ? '' : String(a.itunesStoreId), manifest_url: a.manifestUrl ?? '' };
  return (
    <Layout title={a.name} session={session} nav="apps">
      <ItemHeading back={{ href: '/apps', label: 'Apps' }} title={a.name} notice={props.notice} error={props.error} />
      <dl class="facts">
        <dt>Source</dt>
        <dd>{SOURCE_NAMES[a.source] ?? a.source}</dd>
        <dt>{a.platform === 'android' ? 'Package name' : 'Bundle id'}</dt>
        <dd>{a.identifier}</dd>
        {a.source === 'app_store' ? (
          <>
            <dt>iTunes store id</dt>
            <dd>{a.itunesStoreId ?? '—'}</dd>
          </>
        ) : null}
        {a.source === 'enterprise' ? (
          <>
            <dt>Manifest URL</dt>
            <dd>{a.manifestUrl}</dd>
          </>
        ) : null}
        <dt>Added</dt>
        <dd>{when(a.createdAt)}</dd>
        <dt>Changed</dt>
        <dd>{when(a.updatedAt)}</dd>
      </dl>
      {admin ? (
        <>
          <form method="post" action={`/apps/${a.id}/edit`} class="card">
            <CsrfField session={session} />
            <h2>Change</h2>
            <TextField id="app-name" name="name" label="Name" typed={typed} required />
            {a.source === 'app_store' ? <TextField id="app-itunes" name="itunes_store_id" label="iTunes store id (empty: none)" typed={typed} /> : null}
            {a.source === 'enterprise' ? <TextField id="app-manifest" name="manifest_url" label="Manifest URL (https)" type="url" typed={typed} required /> : null}
            <div class="form-actions">
              <button type="submit">Save</button>
            </div>
          </form>
          <form method="post" action={`/apps/${a.id}/delete`}>
            <CsrfField session={session} />
            <p class="muted">Removing it from the catalog does not remove it from devices; a required app not in the catalog installs by its id where the platform allows.</p>
            <div class="form-actions">
              <button type="submit" class="danger">
                Remove {a.name} from the catalog
              </button>
            </div>
          </form>
        </>
      ) : null}
    </Layout>
  );
}
