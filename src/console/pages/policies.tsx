import type { Session } from '../../admins/service.ts';
import { POLICY_PLATFORMS, type PolicyDocument } from '../../policy/model.ts';
import type { GroupRow } from '../../policy/repo.ts';
import type { CompiledView, PolicyView } from '../../policy/service.ts';
import { CsrfField, DataTable, Layout, when, ItemHeading, Notices, TypedDelete, PostButton } from '../layout.tsx';
import { platformName } from './dashboard.tsx';
import { Code, ownershipName } from './policy-form.tsx';

export interface PolicyListRow {
  id: string;
  name: string;
  version: number;
  updatedAt: number;
  /** Each assignment as a phrase: "iOS devices (priority 0)". */
  assignments: string[];
  /** Enrolled devices it is the effective policy of. */
  devices: number;
}

export interface AssignmentItem {
  id: string;
  label: string;
  priority: number;
}

export interface VersionItem {
  version: number;
  createdBy: string | null;
  createdAt: number;
}

const OWNERSHIPS = ['corporate', 'personal'] as const;

export function PoliciesPage(props: { session: Session; rows: PolicyListRow[]; notice?: string | undefined }) {
  const admin = props.session.admin.role === 'admin';
  return (
    <Layout title="Policies" session={props.session} nav="policies">
      <h1>Policies</h1>
      <Notices notice={props.notice} />
      <p>One policy for every platform, compiled to a configuration profile for Apple devices and a Google policy for Android. Each device gets one: the most specific assignment wins (group, platform, ownership, all).</p>
      {admin ? (
        <p>
          <a class="button" href="/policies/new">
            New policy
          </a>
        </p>
      ) : null}
      {props.rows.length ? (
        <DataTable columns={['Name', 'Version', 'Assigned to', 'Devices', 'Updated']} testId="policies">
          {props.rows.map((r) => (
            <tr>
              <td>
                <a href={`/policies/${r.id}`}>{r.name}</a>
              </td>
              <td class="num">{r.version}</td>
              <td>{r.assignments.length ? r.assignments.join('; ') : <span class="muted">not assigned</span>}</td>
              <td class="num">{r.devices}</td>
              <td>{when(r.updatedAt)}</td>
            </tr>
          ))}
        </DataTable>
      ) : (
        <p class="muted">No policies yet.</p>
      )}
    </Layout>
  );
}

const list = (xs: string[] | undefined) => (xs?.length ? xs.join(', ') : 'none');

/** A document in words: each setting and what it asks, unset ones said so. */
export function DocumentSummary(props: { document: PolicyDocument }) {
  const d = props.document;
  const pc = d.passcode;
  const passcode = pc
    ? [
        pc.required ? 'required' : 'not required',
        pc.min_length !== undefined ? `at least ${pc.min_length} characters` : null,
        `complexity ${pc.complexity}`,
        pc.max_failed_attempts !== undefined ? `wipe after ${pc.max_failed_attempts} failed attempts` : null,
        pc.max_age_days !== undefined ? `expires after ${pc.max_age_days} days` : null,
      ]
        .filter(Boolean)
        .join(', ')
    : 'no passcode rules';
  const minOs = POLICY_PLATFORMS.filter((p) => d.min_os_version?.[p]).map((p) => `${platformName(p)} ${d.min_os_version![p]}`);
  const items: Array<[string, string]> = [
    ['Passcode', passcode],
    ['Auto-lock', d.auto_lock ? `after ${d.auto_lock.max_inactivity_minutes} minutes` : 'not set'],
    ['Encryption', d.encryption_required ? 'required' : 'not required'],
    ['Camera', d.camera_disabled ? 'disabled' : 'allowed'],
    ['Screen capture', d.screen_capture_disabled ? 'disabled' : 'allowed'],
    ['Allowed apps', d.apps?.allow ? list(d.apps.allow) : 'no allow list'],
    ['Blocked apps', list(d.apps?.block)],
    ['Users may install apps', d.apps?.users_may_install === false ? 'no' : 'yes'],
    ['Required apps (Apple)', list(d.required_apps?.apple)],
    ['Required apps (Android)', list(d.required_apps?.android)],
    ['Minimum OS', minOs.length ? minOs.join(', ') : 'none'],
    ['Personal devices', d.personal_devices === 'passcode_only' ? 'passcode rules and auto-lock only' : 'everything (Android: work profile)'],
  ];
  return (
    <dl class="facts" data-testid="document-summary">
      {items.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </>
      ))}
    </dl>
  );
}

/** Links to the compiled output for every platform and ownership, of the current or one version. */
function CompiledLinks(props: { id: string; version?: number }) {
  const v = props.version === undefined ? '' : `&version=${props.version}`;
  return (
    <ul class="compiled-links">
      {POLICY_PLATFORMS.map((p) => (
        <li>
          {platformName(p)}:{' '}
          {OWNERSHIPS.map((o, i) => (
            <>
              {i ? ' · ' : ''}
              <a href={`/policies/${props.id}/compiled?platform=${p}&ownership=${o}${v}`}>{ownershipName(o)}</a>
            </>
          ))}
        </li>
      ))}
    </ul>
  );
}

/** The assignment form's one choice: every target as one option, so it works without script. */
function TargetSelect(props: { groups: GroupRow[] }) {
  return (
    <select id="assign-target" name="target" required>
      <option value="all">All devices</option>
      <optgroup label="Ownership">
        <option value="ownership:corporate">Company devices</option>
        <option value="ownership:personal">Personal devices</option>
      </optgroup>
      <optgroup label="Platform">
        {POLICY_PLATFORMS.map((p) => (
          <option value={`platform:${p}`}>{platformName(p)} devices</option>
        ))}
      </optgroup>
      {props.groups.length ? (
        <optgroup label="Group">
          {props.groups.map((g) => (
            <option value={`group:${g.id}`}>Group {g.name}</option>
          ))}
        </optgroup>
      ) : null}
    </select>
  );
}

export function PolicyPage(props: {
  session: Session;
  policy: PolicyView;
  versions: VersionItem[];
  assignments: AssignmentItem[];
  groups: GroupRow[];
  devices: number;
  notice?: string | undefined;
  error?: string | undefined;
}) {
  const { policy: p, session } = props;
  const admin = session.admin.role === 'admin';
  return (
    <Layout title={p.name} session={session} nav="policies">
      <ItemHeading back={{ href: '/policies', label: 'Policies' }} title={p.name} notice={props.notice} error={props.error} />
      {p.description ? <p>{p.description}</p> : null}
      <p>
        Version {p.currentVersion}, updated {when(p.updatedAt)}; in force on {props.devices} {props.devices === 1 ? 'device' : 'devices'}.
      </p>
      {admin ? (
        <p>
          <a class="button" href={`/policies/${p.id}/edit`}>
            Edit
          </a>
        </p>
      ) : null}

      <section aria-labelledby="settings-h">
        <h2 id="settings-h">Settings</h2>
        <DocumentSummary document={p.document} />
      </section>

      <section aria-labelledby="assignments-h">
        <h2 id="assignments-h">Assignments</h2>
        {props.assignments.length ? (
          <DataTable columns={admin ? ['Target', 'Priority', 'Actions'] : ['Target', 'Priority']} testId="assignments">
            {props.assignments.map((a) => (
              <tr>
                <td>{a.label}</td>
                <td class="num">{a.priority}</td>
                {admin ? (
                  <td>
                    <PostButton session={session} action={`/policies/${p.id}/assignments/${a.id}/remove`} label={`Remove ${a.label}`} />
                  </td>
                ) : null}
              </tr>
            ))}
          </DataTable>
        ) : (
          <p class="muted">Not assigned: no device gets this policy.</p>
        )}
        {admin ? (
          <form method="post" action={`/policies/${p.id}/assignments`} class="card">
            <CsrfField session={session} />
            <h3>Assign</h3>
            <label for="assign-target">To</label>
            <TargetSelect groups={props.groups} />
            <label for="assign-priority">Priority (−1000 to 1000; among assignments of the same kind the higher wins)</label>
            <input id="assign-priority" name="priority" type="number" inputmode="numeric" min={-1000} max={1000} value="0" />
            <div class="form-actions">
              <button type="submit">Assign</button>
            </div>
          </form>
        ) : null}
      </section>

      <section aria-labelledby="compiled-h">
        <h2 id="compiled-h">Compiled</h2>
        <p>What each platform gets from the current version:</p>
        <CompiledLinks id={p.id} />
      </section>

      <section aria-labelledby="versions-h">
        <h2 id="versions-h">Versions</h2>
        <DataTable columns={['Version', 'By', 'When']} testId="versions">
          {props.versions.map((v) => (
            <tr>
              <td class="num">
                <a href={`/policies/${p.id}/versions/${v.version}`}>{v.version}</a>
              </td>
              <td>{v.createdBy ?? '—'}</td>
              <td>{when(v.createdAt)}</td>
            </tr>
          ))}
        </DataTable>
      </section>

      {admin ? (
        <section aria-labelledby="delete-h">
          <h2 id="delete-h">Delete</h2>
          <TypedDelete
            session={session}
            action={`/policies/${p.id}/delete`}
            thing="policy"
            name={p.name}
            inputId="delete-confirm"
            about="Deleting removes the policy with its versions and assignments; its profiles are removed from Apple devices and Android devices go back to their enrollment policy."
          />
        </section>
      ) : null}
    </Layout>
  );
}

export function PolicyVersionPage(props: { session: Session; policy: PolicyView; version: VersionItem; document: PolicyDocument }) {
  const { policy: p, version: v } = props;
  return (
    <Layout title={`${p.name} version ${v.version}`} session={props.session} nav="policies">
      <p>
        <a href={`/policies/${p.id}`}>← {p.name}</a>
      </p>
      <h1>
        {p.name}: version {v.version}
      </h1>
      <p>
        Saved {when(v.createdAt)} by {v.createdBy ?? '—'}
        {v.version === p.currentVersion ? ' (the current version).' : `; the current version is ${p.currentVersion}.`}
      </p>
      <DocumentSummary document={props.document} />
      <h2>Document</h2>
      <Code testId="version-document">{JSON.stringify(props.document, null, 2)}</Code>
      <h2>Compiled</h2>
      <CompiledLinks id={p.id} version={v.version} />
    </Layout>
  );
}

/** One platform and ownership's compiled output: the profile's XML for Apple, the Google policy's JSON for Android. */
export function CompiledPage(props: { session: Session; policy: PolicyView; compiled: CompiledView; versions: number[] }) {
  const { policy: p, compiled: c } = props;
  return (
    <Layout title={`${p.name} compiled`} session={props.session} nav="policies">
      <p>
        <a href={`/policies/${p.id}`}>← {p.name}</a>
      </p>
      <h1>
        {p.name}: {platformName(c.platform)}, {ownershipName(c.ownership)} devices
      </h1>
      <form method="get" action={`/policies/${p.id}/compiled`} class="filters wide">
        <div>
          <label for="compiled-platform">Platform</label>
          <select id="compiled-platform" name="platform">
            {POLICY_PLATFORMS.map((x) => (
              <option value={x} selected={x === c.platform}>
                {platformName(x)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="compiled-ownership">Ownership</label>
          <select id="compiled-ownership" name="ownership">
            {OWNERSHIPS.map((o) => (
              <option value={o} selected={o === c.ownership}>
                {ownershipName(o)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="compiled-version">Version</label>
          <select id="compiled-version" name="version">
            {props.versions.map((v) => (
              <option value={String(v)} selected={v === c.version}>
                {v}
              </option>
            ))}
          </select>
        </div>
        <div>
          <button type="submit">Show</button>
        </div>
      </form>
      <p>
        Version {c.version}
        {c.identifier ? `; profile ${c.identifier}` : ''}.
      </p>
      {c.notes.length ? (
        <>
          <h2>Notes</h2>
          <ul class="break" data-testid="compiled-notes">
            {c.notes.map((n) => (
              <li>{n}</li>
            ))}
          </ul>
        </>
      ) : null}
      <h2>{c.xml ? 'Configuration profile' : 'Android Management API policy'}</h2>
      <Code testId="compiled-output">{c.xml ?? JSON.stringify(c.output, null, 2)}</Code>
    </Layout>
  );
}
