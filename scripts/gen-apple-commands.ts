// Generates src/apple/commands/catalog.generated.json from Apple's MDM command schemas in
// src/apple/schemas/commands/*.yaml. Run: npm run gen:apple-commands (--check: exit 1 when the
// committed catalog is stale, write nothing).
//
// It stops on anything it does not understand, so a new schema release cannot silently turn into
// a catalog that accepts or refuses the wrong things.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { accessRightBit } from '../src/apple/commands/access-rights.ts';
import {
  PLATFORMS,
  VALUE_TYPES,
  type Catalog,
  type CommandSpec,
  type EnrollmentMode,
  type KeyNode,
  type KeyOsSupport,
  type OsSupport,
  type Platform,
  type ValueType,
} from '../src/apple/commands/types.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SCHEMA_DIR = 'src/apple/schemas/commands';
const OUT = 'src/apple/commands/catalog.generated.json';

type Raw = Record<string, unknown>;

class SchemaError extends Error {}
function fail(where: string, message: string): never {
  throw new SchemaError(`${where}: ${message}`);
}
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const MODES = new Set<EnrollmentMode>(['allowed', 'required', 'forbidden', 'ignored']);
// Keys of a supportedOS entry the catalog carries; the rest (multiple, allowmanualinstall, ...) concern profiles.
const OS_FIELDS = new Set(['introduced', 'deprecated', 'removed', 'accessrights', 'devicechannel', 'userchannel', 'supervised', 'requiresdep', 'userenrollment', 'sharedipad']);

function mode(v: Raw, where: string): EnrollmentMode {
  if (!MODES.has(v.mode as EnrollmentMode)) fail(where, `mode must be one of ${[...MODES].join(', ')}`);
  return v.mode as EnrollmentMode;
}

function version(v: unknown, where: string): string {
  if (typeof v !== 'string' || !/^\d+(\.\d+)*$/.test(v)) fail(where, `expected a version like '10.13.4', got ${JSON.stringify(v)}`);
  return v as string;
}

/** The fields of one platform's entry that are present, checked and renamed to the catalog's shape. */
function osFields(raw: Raw, where: string): KeyOsSupport {
  const out: KeyOsSupport = {};
  for (const [k, v] of Object.entries(raw)) {
    const at = `${where}.${k}`;
    if (!OS_FIELDS.has(k)) continue;
    if (k === 'introduced' || k === 'deprecated' || k === 'removed') out[k] = version(v, at);
    else if (k === 'accessrights') {
      if (typeof v !== 'string') fail(at, 'expected a string');
      const bit = accessRightBit(v as string);
      if (bit === undefined) fail(at, `no AccessRights bit is known for "${v}" (add it to src/apple/commands/access-rights.ts)`);
      // None, n/a and Special Case (a right per query, DeviceInformation) name no right: null, bit 0.
      out.accessrights = v === 'None' || v === 'n/a' || v === 'Special Case' ? null : (v as string);
      out.accessrightsBit = bit!;
    } else if (k === 'userenrollment') {
      if (!isObject(v)) fail(at, 'expected a dictionary');
      out.userenrollment = mode(v as Raw, at);
    } else if (k === 'sharedipad') {
      if (!isObject(v)) fail(at, 'expected a dictionary');
      const s = v as Raw;
      // A key's override may leave the mode out and change only a channel (DeviceInformation's PushToken).
      out.sharedipad = s.mode === undefined ? {} : { mode: mode(s, at) };
      for (const c of ['devicechannel', 'userchannel'] as const) {
        if (s[c] === undefined) continue;
        if (typeof s[c] !== 'boolean') fail(`${at}.${c}`, 'expected a boolean');
        out.sharedipad[c] = s[c] as boolean;
      }
    } else {
      if (typeof v !== 'boolean') fail(at, 'expected a boolean');
      out[k as 'devicechannel' | 'userchannel' | 'supervised' | 'requiresdep'] = v as boolean;
    }
  }
  return out;
}

/**
 * A command's own support per platform, with Apple's unstated defaults filled in: the device
 * channel unless said otherwise (a sharedipad entry's channels hold on Shared iPad only); the
 * user channel only where said (tvOS, watchOS and visionOS have none; on iOS it exists only on
 * Shared iPad, so its sharedipad entry decides).
 */
function commandSupport(raw: unknown, where: string): Partial<Record<Platform, OsSupport>> {
  if (!isObject(raw)) return fail(where, 'supportedOS is missing');
  const out: Partial<Record<Platform, OsSupport>> = {};
  for (const [name, entry] of Object.entries(raw)) {
    const at = `${where}.${name}`;
    if (!(PLATFORMS as readonly string[]).includes(name)) fail(at, 'unknown platform');
    if (!isObject(entry)) fail(at, 'expected a dictionary');
    if (entry.introduced === 'n/a') continue;
    const f = osFields(entry, at);
    if (!f.introduced) fail(at, 'no introduced version');
    out[name as Platform] = {
      introduced: f.introduced!,
      ...(f.deprecated && { deprecated: f.deprecated }),
      ...(f.removed && { removed: f.removed }),
      accessrights: f.accessrights ?? null,
      accessrightsBit: f.accessrightsBit ?? 0,
      devicechannel: f.devicechannel ?? true,
      userchannel: f.userchannel ?? f.sharedipad?.userchannel ?? false,
      supervised: f.supervised ?? false,
      requiresdep: f.requiresdep ?? false,
      userenrollment: f.userenrollment ?? 'allowed',
      ...(f.sharedipad && { sharedipad: { mode: 'allowed', ...f.sharedipad } }),
    };
  }
  return out;
}

/** A key's overrides of its command's support (schema.md: keys inherit, then override). */
function keySupport(raw: unknown, where: string): KeyNode['supportedOS'] {
  if (!isObject(raw)) return fail(where, 'expected a dictionary');
  const out: NonNullable<KeyNode['supportedOS']> = {};
  for (const [name, entry] of Object.entries(raw)) {
    const at = `${where}.${name}`;
    if (!(PLATFORMS as readonly string[]).includes(name)) fail(at, 'unknown platform');
    if (!isObject(entry)) fail(at, 'expected a dictionary');
    const fields = entry.introduced === 'n/a' ? null : osFields(entry, at);
    if (!fields || Object.keys(fields).length) out[name as Platform] = fields;
  }
  return Object.keys(out).length ? out : undefined;
}

function valueType(raw: unknown, where: string): ValueType {
  const m = typeof raw === 'string' ? /^<([a-z]+)>$/.exec(raw) : null;
  if (!m || !(VALUE_TYPES as readonly string[]).includes(m[1]!)) fail(where, `unknown type ${JSON.stringify(raw)}`);
  return m![1] as ValueType;
}

function fitsType(v: unknown, type: ValueType): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return Number.isSafeInteger(v);
    case 'real':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

function keyNode(raw: unknown, where: string, opts: { response: boolean }): KeyNode {
  if (!isObject(raw) || typeof raw.key !== 'string') return fail(where, 'a key without a name');
  const at = `${where}.${raw.key}`;
  const type = valueType(raw.type, at);
  if (raw.presence !== undefined && raw.presence !== 'required' && raw.presence !== 'optional') fail(at, `presence ${JSON.stringify(raw.presence)}`);
  // Apple leaves presence out on array element placeholders and on many response keys: optional.
  const node: KeyNode = { key: raw.key, type, presence: (raw.presence as KeyNode['presence']) ?? 'optional' };
  if (raw.key.startsWith('ANY')) node.wildcard = true;
  if (raw.rangelist !== undefined) {
    if (!Array.isArray(raw.rangelist) || !raw.rangelist.every((v) => fitsType(v, type))) fail(at, `rangelist does not fit ${type}`);
    node.rangelist = raw.rangelist as Array<string | number>;
  }
  if (raw.range !== undefined) {
    const r = raw.range as Raw;
    if (!isObject(r) || (r.min !== undefined && typeof r.min !== 'number') || (r.max !== undefined && typeof r.max !== 'number')) fail(at, 'range must have numeric min/max');
    node.range = { ...(r.min !== undefined && { min: r.min as number }), ...(r.max !== undefined && { max: r.max as number }) };
  }
  if (raw.default !== undefined) {
    if (!fitsType(raw.default, type) || (node.rangelist && !node.rangelist.includes(raw.default as string | number))) fail(at, `default ${JSON.stringify(raw.default)} does not fit`);
    node.default = raw.default;
  }
  if (!opts.response && raw.supportedOS !== undefined) {
    const s = keySupport(raw.supportedOS, `${at}.supportedOS`);
    if (s) node.supportedOS = s;
  }
  const subs = raw.subkeys === undefined ? [] : Array.isArray(raw.subkeys) ? raw.subkeys : fail(at, 'subkeys must be a list');
  const subkeys = subs.map((s) => keyNode(s, at, opts));
  if (type === 'dictionary') {
    if (!subkeys.length) fail(at, 'a dictionary without subkeys');
    const names = subkeys.map((s) => s.key);
    if (new Set(names).size !== names.length) fail(at, 'duplicate subkeys');
    if (subkeys.filter((s) => s.wildcard).length > 1) fail(at, 'more than one ANY subkey');
    node.subkeys = subkeys;
  } else if (type === 'array') {
    if (!subkeys.length) fail(at, 'an array without an element shape');
    node.subkeys = subkeys;
    // Settings: each element is one of several dictionaries, named by a required member whose
    // rangelist differs per shape. Anything else with several shapes is not understood.
    if (subkeys.length > 1) node.discriminator = discriminator(subkeys, at);
  } else if (subkeys.length) {
    // A scalar with subkeys: each subkey names one allowed value (DeviceInformation's Queries).
    if (type !== 'string' || node.rangelist) fail(at, `subkeys on a ${type}`);
    node.rangelist = subkeys.map((s) => s.key);
    node.subkeys = subkeys;
  }
  return node;
}

function discriminator(shapes: KeyNode[], where: string): string {
  if (shapes.some((s) => s.type !== 'dictionary')) fail(where, 'an array of several shapes that are not all dictionaries');
  const candidates = shapes[0]!.subkeys!.filter((k) => k.presence === 'required' && k.rangelist).map((k) => k.key);
  for (const name of candidates) {
    const values = shapes.map((s) => s.subkeys!.find((k) => k.key === name && k.presence === 'required')?.rangelist);
    if (values.some((v) => !v)) continue;
    const all = values.flatMap((v) => v!);
    if (new Set(all).size === all.length) return name;
  }
  return fail(where, 'an array of several dictionary shapes with no member telling them apart');
}

function command(file: string, text: string): CommandSpec {
  const doc = parse(text) as unknown;
  if (!isObject(doc) || !isObject(doc.payload)) return fail(file, 'no payload');
  const requestType = doc.payload.requesttype;
  if (typeof requestType !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(requestType)) return fail(file, 'payload.requesttype is missing');
  const keys = (list: unknown, section: string, response: boolean) =>
    list === undefined ? [] : Array.isArray(list) ? list.map((k) => keyNode(k, `${file}:${section}`, { response })) : fail(file, `${section} must be a list`);
  const payloadKeys = keys(doc.payloadkeys, 'payloadkeys', false);
  const names = payloadKeys.map((k) => k.key);
  if (new Set(names).size !== names.length) fail(file, 'duplicate payload keys');
  if (names.includes('RequestType')) fail(file, 'a payload key named RequestType');
  return {
    requestType,
    title: typeof doc.title === 'string' ? doc.title : requestType,
    supportedOS: commandSupport(doc.payload.supportedOS, `${file}:payload.supportedOS`),
    payloadKeys,
    responseKeys: keys(doc.responsekeys, 'responsekeys', true),
  };
}

export function generate(dir = path.join(root, SCHEMA_DIR)): Catalog {
  const commands: Record<string, CommandSpec> = {};
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  for (const file of files) {
    const spec = command(file, fs.readFileSync(path.join(dir, file), 'utf8'));
    if (Object.hasOwn(commands, spec.requestType)) fail(file, `RequestType ${spec.requestType} is defined twice`);
    commands[spec.requestType] = spec;
  }
  const sorted = Object.fromEntries(Object.entries(commands).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { source: `${SCHEMA_DIR}/*.yaml (Apple device-management, MIT); generated by scripts/gen-apple-commands.ts, do not edit`, commands: sorted };
}

function main() {
  const check = process.argv.includes('--check');
  let text: string;
  try {
    text = JSON.stringify(generate(), null, 1) + '\n';
  } catch (e) {
    if (!(e instanceof SchemaError)) throw e;
    process.stderr.write(`gen-apple-commands: ${e.message}\n`);
    process.exit(2);
  }
  const out = path.join(root, OUT);
  const current = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  if (check) {
    if (current !== text) {
      process.stderr.write(`${OUT} is stale: run npm run gen:apple-commands\n`);
      process.exit(1);
    }
    return;
  }
  if (current !== text) fs.writeFileSync(out, text);
  process.stdout.write(`${OUT}: ${Object.keys(JSON.parse(text).commands).length} commands${current === text ? ' (unchanged)' : ''}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) main();
