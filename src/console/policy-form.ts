import { z } from 'zod';
import { POLICY_PLATFORMS, PolicyDocument, type PolicyInput } from '../policy/model.ts';
import { field } from './render.ts';

/**
 * The policy form's fields as the browser posts them, and the document path each one fills: errors
 * from PolicyDocument come back by path and are shown beside the field that caused them.
 */
export const POLICY_FIELDS = {
  name: 'name',
  description: 'description',
  passcode_rules: 'passcode',
  passcode_required: 'passcode.required',
  passcode_min_length: 'passcode.min_length',
  passcode_complexity: 'passcode.complexity',
  passcode_max_failed_attempts: 'passcode.max_failed_attempts',
  passcode_max_age_days: 'passcode.max_age_days',
  auto_lock_minutes: 'auto_lock.max_inactivity_minutes',
  encryption_required: 'encryption_required',
  camera_disabled: 'camera_disabled',
  screen_capture_disabled: 'screen_capture_disabled',
  apps_allow: 'apps.allow',
  apps_block: 'apps.block',
  apps_users_may_install: 'apps.users_may_install',
  required_apps_apple: 'required_apps.apple',
  required_apps_android: 'required_apps.android',
  min_os_ios: 'min_os_version.ios',
  min_os_ipados: 'min_os_version.ipados',
  min_os_macos: 'min_os_version.macos',
  min_os_android: 'min_os_version.android',
  personal_devices: 'personal_devices',
} as const;
export type PolicyField = keyof typeof POLICY_FIELDS;
/** What was typed, as typed: a refused form is shown again with it. Checkboxes are '1' or ''. */
export type PolicyFormValues = Record<PolicyField, string>;

export interface FieldError {
  /** The document path (`passcode.min_length`, `apps.allow[1]`), or `name`. */
  path: string;
  message: string;
}

const ON = '1';
const NAME = z.string().trim().min(1, 'a name is needed').max(100, 'at most 100 characters');
const DESCRIPTION = z.string().trim().max(500, 'at most 500 characters');

export const EMPTY_POLICY_FORM: PolicyFormValues = {
  ...(Object.fromEntries(Object.keys(POLICY_FIELDS).map((k) => [k, ''])) as PolicyFormValues),
  passcode_required: ON,
  passcode_complexity: 'any',
  apps_users_may_install: ON,
  personal_devices: 'work_profile',
};

export function formValues(body: Record<string, unknown>): PolicyFormValues {
  return Object.fromEntries(Object.keys(POLICY_FIELDS).map((k) => [k, field(body, k)])) as PolicyFormValues;
}

const lines = (v: string[] | undefined) => (v ?? []).join('\n');

/** A saved document as the form shows it, for editing. */
export function valuesOf(p: { name: string; description: string | null; document: PolicyDocument }): PolicyFormValues {
  const d = p.document;
  const n = (x: number | undefined) => (x === undefined ? '' : String(x));
  const b = (x: boolean | undefined) => (x ? ON : '');
  return {
    name: p.name,
    description: p.description ?? '',
    passcode_rules: b(d.passcode !== undefined),
    passcode_required: b(d.passcode?.required ?? true),
    passcode_min_length: n(d.passcode?.min_length),
    passcode_complexity: d.passcode?.complexity ?? 'any',
    passcode_max_failed_attempts: n(d.passcode?.max_failed_attempts),
    passcode_max_age_days: n(d.passcode?.max_age_days),
    auto_lock_minutes: n(d.auto_lock?.max_inactivity_minutes),
    encryption_required: b(d.encryption_required),
    camera_disabled: b(d.camera_disabled),
    screen_capture_disabled: b(d.screen_capture_disabled),
    apps_allow: lines(d.apps?.allow),
    apps_block: lines(d.apps?.block),
    apps_users_may_install: b(d.apps?.users_may_install ?? true),
    required_apps_apple: lines(d.required_apps?.apple),
    required_apps_android: lines(d.required_apps?.android),
    min_os_ios: d.min_os_version?.ios ?? '',
    min_os_ipados: d.min_os_version?.ipados ?? '',
    min_os_macos: d.min_os_version?.macos ?? '',
    min_os_android: d.min_os_version?.android ?? '',
    personal_devices: d.personal_devices,
  };
}

/** Integers as numbers; anything else typed stays a string, so the schema refuses it by its path. */
const num = (s: string) => {
  const t = s.trim();
  if (t === '') return undefined;
  return /^-?\d{1,9}$/.test(t) ? Number(t) : t;
};
const ids = (s: string) => s.split(/[\s,]+/).filter(Boolean);
const text = (s: string) => s.trim() || undefined;

/** The form's document, built as the JSON API would receive it; left-empty sections are left out. */
export function documentInput(v: PolicyFormValues): PolicyInput {
  const allow = ids(v.apps_allow);
  const block = ids(v.apps_block);
  const mayInstall = v.apps_users_may_install === ON;
  const apple = ids(v.required_apps_apple);
  const android = ids(v.required_apps_android);
  const minOs = Object.fromEntries(POLICY_PLATFORMS.map((p) => [p, text(v[`min_os_${p}`])]).filter(([, x]) => x !== undefined));
  const doc: Record<string, unknown> = {
    encryption_required: v.encryption_required === ON,
    camera_disabled: v.camera_disabled === ON,
    screen_capture_disabled: v.screen_capture_disabled === ON,
    personal_devices: v.personal_devices,
  };
  if (v.passcode_rules === ON) {
    doc.passcode = {
      required: v.passcode_required === ON,
      complexity: v.passcode_complexity,
      min_length: num(v.passcode_min_length),
      max_failed_attempts: num(v.passcode_max_failed_attempts),
      max_age_days: num(v.passcode_max_age_days),
    };
  }
  const minutes = num(v.auto_lock_minutes);
  if (minutes !== undefined) doc.auto_lock = { max_inactivity_minutes: minutes };
  // An empty allow list would allow nothing: an empty box means no allow list at all.
  if (allow.length || block.length || !mayInstall) doc.apps = { ...(allow.length ? { allow } : {}), block, users_may_install: mayInstall };
  if (apple.length || android.length) doc.required_apps = { apple, android };
  if (Object.keys(minOs).length) doc.min_os_version = minOs;
  return JSON.parse(JSON.stringify(doc)) as PolicyInput;
}

const pathOf = (path: ReadonlyArray<PropertyKey>) => path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '');

/** zod's issues as the form shows them: the path, and the value when it is one line of a list. */
export function issuesOf(e: z.ZodError, input: unknown): FieldError[] {
  return e.issues.map((i) => {
    const value = i.path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined), input);
    const typed = typeof i.path[i.path.length - 1] === 'number' && typeof value === 'string' ? ` (${JSON.stringify(value)})` : '';
    const message = i.code === 'invalid_type' && i.expected === 'number' ? 'must be a whole number' : i.message;
    return { path: pathOf(i.path), message: `${message}${typed}` };
  });
}

export type ParsedPolicyForm = { ok: true; name: string; description: string | null; document: PolicyDocument } | { ok: false; errors: FieldError[] };

/** Name, description and document from the form, checked by the same schema as the API's. */
export function parsePolicyForm(v: PolicyFormValues): ParsedPolicyForm {
  const errors: FieldError[] = [];
  const name = NAME.safeParse(v.name);
  if (!name.success) errors.push({ path: 'name', message: name.error.issues[0]!.message });
  const description = DESCRIPTION.safeParse(v.description);
  if (!description.success) errors.push({ path: 'description', message: description.error.issues[0]!.message });
  const input = documentInput(v);
  const doc = PolicyDocument.safeParse(input);
  if (!doc.success) errors.push(...issuesOf(doc.error, input));
  if (errors.length || !name.success || !description.success || !doc.success) return { ok: false, errors };
  return { ok: true, name: name.data, description: description.data || null, document: doc.data };
}

/** Errors that belong beside one field: its path, or a line of its list. */
export const errorsFor = (errors: FieldError[], f: PolicyField) => {
  const p = POLICY_FIELDS[f];
  return errors.filter((e) => e.path === p || e.path.startsWith(`${p}.`) || e.path.startsWith(`${p}[`));
};
