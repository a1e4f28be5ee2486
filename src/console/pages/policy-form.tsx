import type { Child } from 'hono/jsx';
import type { Session } from '../../admins/service.ts';
import type { Change } from '../../policy/diff.ts';
import { PASSCODE_COMPLEXITY, POLICY_PLATFORMS } from '../../policy/model.ts';
import type { CompiledView, Policies } from '../../policy/service.ts';
import { Banner, CsrfField, DataTable, Layout } from '../layout.tsx';
import { errorsFor, type FieldError, type PolicyField, type PolicyFormValues } from '../policy-form.ts';
import { platformName } from './dashboard.tsx';

type Preview = ReturnType<Policies['preview']>;

/** The policy being edited: where the form posts, and the version it started from. */
export interface EditTarget {
  id: string;
  name: string;
  version: number;
}

export const ownershipName = (o: string) => (o === 'personal' ? 'personal' : 'company');

function FieldErrors(props: { errors: FieldError[]; field: PolicyField }) {
  const mine = errorsFor(props.errors, props.field);
  if (!mine.length) return null;
  return (
    <ul class="field-error" id={`${props.field}-error`}>
      {mine.map((e) => (
        <li>
          {e.path}: {e.message}
        </li>
      ))}
    </ul>
  );
}

/** A labelled input with its errors beneath, marked invalid for screen readers. */
function Input(props: { f: PolicyField; label: string; v: PolicyFormValues; errors: FieldError[]; type?: string; hint?: string; min?: number; max?: number }) {
  const bad = errorsFor(props.errors, props.f).length > 0;
  return (
    <div>
      <label for={`pf-${props.f}`}>{props.label}</label>
      {props.hint ? <p class="hint">{props.hint}</p> : null}
      <input
        id={`pf-${props.f}`}
        name={props.f}
        value={props.v[props.f]}
        type={props.type ?? 'text'}
        inputmode={props.type === 'number' ? 'numeric' : undefined}
        min={props.min}
        max={props.max}
        autocomplete="off"
        aria-invalid={bad ? 'true' : undefined}
        aria-describedby={bad ? `${props.f}-error` : undefined}
      />
      <FieldErrors errors={props.errors} field={props.f} />
    </div>
  );
}

function Check(props: { f: PolicyField; label: string; v: PolicyFormValues; errors: FieldError[] }) {
  return (
    <div>
      <label class="check" for={`pf-${props.f}`}>
        <input id={`pf-${props.f}`} type="checkbox" name={props.f} value="1" checked={props.v[props.f] === '1'} />
        {props.label}
      </label>
      <FieldErrors errors={props.errors} field={props.f} />
    </div>
  );
}

function Lines(props: { f: PolicyField; label: string; v: PolicyFormValues; errors: FieldError[]; hint: string }) {
  const bad = errorsFor(props.errors, props.f).length > 0;
  return (
    <div>
      <label for={`pf-${props.f}`}>{props.label}</label>
      <p class="hint">{props.hint}</p>
      <textarea id={`pf-${props.f}`} name={props.f} rows={3} spellcheck={false} aria-invalid={bad ? 'true' : undefined} aria-describedby={bad ? `${props.f}-error` : undefined}>
        {props.v[props.f]}
      </textarea>
      <FieldErrors errors={props.errors} field={props.f} />
    </div>
  );
}

function Select(props: { f: PolicyField; label: string; v: PolicyFormValues; errors: FieldError[]; options: Array<[string, string]> }) {
  return (
    <div>
      <label for={`pf-${props.f}`}>{props.label}</label>
      <select id={`pf-${props.f}`} name={props.f}>
        {props.options.map(([value, label]) => (
          <option value={value} selected={props.v[props.f] === value}>
            {label}
          </option>
        ))}
      </select>
      <FieldErrors errors={props.errors} field={props.f} />
    </div>
  );
}

/** Every PolicyDocument setting, grouped as the README describes them. Without `edit`, it creates a policy. */
export function PolicyForm(props: { session: Session; values: PolicyFormValues; errors: FieldError[]; edit?: EditTarget }) {
  const { values: v, errors: e, edit } = props;
  const p = { v, errors: e };
  return (
    <form method="post" action={edit ? `/policies/${edit.id}/preview` : '/policies'} class="policy-form" data-testid="policy-form">
      <CsrfField session={props.session} />
      {edit ? <input type="hidden" name="from_version" value={String(edit.version)} /> : null}
      <fieldset>
        <legend>Policy</legend>
        <Input f="name" label="Name" {...p} />
        <Lines f="description" label="Description (optional)" hint="What the policy is for; not sent to devices." {...p} />
      </fieldset>
      <fieldset>
        <legend>Passcode</legend>
        <Check f="passcode_rules" label="Apply passcode rules (unticked: the policy says nothing about the passcode)" {...p} />
        <Check f="passcode_required" label="A passcode is required" {...p} />
        <Input f="passcode_min_length" label="Minimum length (1–16, empty: no minimum)" type="number" min={1} max={16} {...p} />
        <Select f="passcode_complexity" label="Complexity" options={PASSCODE_COMPLEXITY.map((c) => [c, COMPLEXITY[c]])} {...p} />
        <Input f="passcode_max_failed_attempts" label="Failed attempts before a wipe (2–100; Apple takes at most 11)" type="number" min={2} max={100} {...p} />
        <Input f="passcode_max_age_days" label="Passcode expires after (days, 1–730)" type="number" min={1} max={730} {...p} />
      </fieldset>
      <fieldset>
        <legend>Device</legend>
        <Input f="auto_lock_minutes" label="Auto-lock after (minutes of inactivity, 1–60, empty: not set)" type="number" min={1} max={60} {...p} />
        <Check f="encryption_required" label="Storage encryption required" {...p} />
        <Check f="camera_disabled" label="Camera disabled" {...p} />
        <Check f="screen_capture_disabled" label="Screenshots and screen recording disabled" {...p} />
      </fieldset>
      <fieldset>
        <legend>Apps</legend>
        <Lines f="apps_allow" label="Allowed apps (allow list)" hint="One bundle id or package name a line. Empty: no allow list; given: only these apps may be used." {...p} />
        <Lines f="apps_block" label="Blocked apps" hint="One bundle id or package name a line." {...p} />
        <Check f="apps_users_may_install" label="Users may install apps themselves" {...p} />
        <Lines f="required_apps_apple" label="Required apps: Apple (bundle ids)" hint="One a line, such as com.example.mail; installed as managed apps from the catalog." {...p} />
        <Lines f="required_apps_android" label="Required apps: Android (package names)" hint="One a line; force-installed from Google Play." {...p} />
      </fieldset>
      <fieldset>
        <legend>Minimum OS version</legend>
        <p class="hint">Such as 17.4; empty: no minimum for that platform.</p>
        {POLICY_PLATFORMS.map((pl) => (
          <Input f={`min_os_${pl}`} label={platformName(pl)} {...p} />
        ))}
      </fieldset>
      <fieldset>
        <legend>Personal devices</legend>
        <Select
          f="personal_devices"
          label="What reaches a personal (BYOD) device"
          options={[
            ['work_profile', 'Everything (on Android inside the work profile only)'],
            ['passcode_only', 'The passcode rules and auto-lock only'],
          ]}
          {...p}
        />
      </fieldset>
      <div class="form-actions">
        {edit ? (
          <>
            <button type="submit">Preview changes</button>{' '}
            <button type="submit" class="secondary" formaction={`/policies/${edit.id}/versions`}>
              Save without preview
            </button>
          </>
        ) : (
          <button type="submit">Create policy</button>
        )}
      </div>
    </form>
  );
}

const COMPLEXITY: Record<(typeof PASSCODE_COMPLEXITY)[number], string> = {
  any: 'Any passcode',
  numeric: 'Numeric, no simple sequences',
  alphanumeric: 'Letters and digits',
  complex: 'Letters, digits and a symbol',
};

/** Refusals above the form: every error with its path, so none hides in a collapsed section. */
function ErrorSummary(props: { errors: FieldError[]; error?: string | undefined }) {
  if (!props.errors.length && !props.error) return null;
  return (
    <Banner kind="error">
      {props.error ? <p>{props.error}</p> : <p>The policy was not saved:</p>}
      {props.errors.length ? (
        <ul data-testid="form-errors">
          {props.errors.map((x) => (
            <li>
              {x.path}: {x.message}
            </li>
          ))}
        </ul>
      ) : null}
    </Banner>
  );
}

export function PolicyFormPage(props: { session: Session; values: PolicyFormValues; errors: FieldError[]; error?: string | undefined; edit?: EditTarget }) {
  const title = props.edit ? `Edit ${props.edit.name}` : 'New policy';
  return (
    <Layout title={title} session={props.session} nav="policies">
      <p>
        <a href={props.edit ? `/policies/${props.edit.id}` : '/policies'}>← {props.edit ? props.edit.name : 'Policies'}</a>
      </p>
      <h1>{title}</h1>
      <ErrorSummary errors={props.errors} error={props.error} />
      {props.edit ? <p>Saving makes version {props.edit.version + 1}. Preview first to see what changes on the devices the policy is in force on.</p> : null}
      <PolicyForm session={props.session} values={props.values} errors={props.errors} edit={props.edit} />
    </Layout>
  );
}

export const show = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v));

export function Code(props: { children: Child; testId?: string }) {
  return (
    <div class="code-wrap">
      <pre data-testid={props.testId}>{props.children}</pre>
    </div>
  );
}

function ChangesTable(props: { changes: Change[] }) {
  if (!props.changes.length) return <p class="muted">No change to what these devices get.</p>;
  return (
    <DataTable columns={['Setting', 'Change', 'Before', 'After']} testId="changes">
      {props.changes.map((c) => (
        <tr>
          <td class="break">{c.path}</td>
          <td>{c.op}</td>
          <td class="break">{show(c.before)}</td>
          <td class="break">{show(c.after)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function CompiledOutput(props: { compiled: CompiledView }) {
  return (
    <details>
      <summary>Compiled output</summary>
      {props.compiled.notes.length ? (
        <ul>
          {props.compiled.notes.map((n) => (
            <li>{n}</li>
          ))}
        </ul>
      ) : null}
      <Code>{JSON.stringify(props.compiled.output, null, 2)}</Code>
    </details>
  );
}

/**
 * What saving the document would change, per platform and ownership of the devices the policy
 * is in force on; the save button carries the very document previewed, and the form below it
 * what was typed, to change it and preview again.
 */
export function PreviewPage(props: { session: Session; edit: EditTarget; preview: Preview; saved: { name: string; description: string | null; document: unknown }; values: PolicyFormValues }) {
  const { preview: pv, edit } = props;
  return (
    <Layout title={`Preview ${edit.name}`} session={props.session} nav="policies">
      <p>
        <a href={`/policies/${edit.id}`}>← {edit.name}</a>
      </p>
      <h1>Preview: version {pv.to_version} of {edit.name}</h1>
      <p data-testid="preview-summary">
        In force on {pv.devices} {pv.devices === 1 ? 'device' : 'devices'}
        {pv.unsupported_platform_devices ? ` (and ${pv.unsupported_platform_devices} on platforms policies do not reach)` : ''}.{' '}
        {pv.devices ? 'Saving sends the new version to them at once.' : 'Saving changes no device now; it applies to devices as they come into scope.'}
      </p>
      {pv.groups.map((g) => (
        <section class="card preview-group" aria-label={`${platformName(g.platform)}, ${ownershipName(g.ownership)}`}>
          <h2>
            {platformName(g.platform)}, {ownershipName(g.ownership)}: {g.devices} {g.devices === 1 ? 'device' : 'devices'}
          </h2>
          <p class="break muted">
            {g.devices > g.sample_device_ids.length ? 'Among them: ' : ''}
            {g.sample_device_ids.map((id, i) => (
              <>
                {i ? ', ' : ''}
                <a href={`/devices/${encodeURIComponent(id)}`}>{id}</a>
              </>
            ))}
          </p>
          {g.error ? <Banner kind="error">{g.error.message}</Banner> : <ChangesTable changes={g.changes} />}
          {g.compiled ? <CompiledOutput compiled={g.compiled} /> : null}
        </section>
      ))}
      <form method="post" action={`/policies/${edit.id}/versions`}>
        <CsrfField session={props.session} />
        <input type="hidden" name="from_version" value={String(edit.version)} />
        <input type="hidden" name="document_json" value={JSON.stringify(props.saved)} />
        <div class="form-actions">
          <button type="submit" data-testid="save-version">
            Save as version {pv.to_version}
          </button>
        </div>
      </form>
      <h2>Change it again</h2>
      <PolicyForm session={props.session} values={props.values} errors={[]} edit={edit} />
    </Layout>
  );
}
