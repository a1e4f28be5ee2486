// Generates src/android/amapi/schemas.generated.ts from Google's discovery document of the Android
// Management API (src/android/discovery/). Run: npm run gen:amapi-types (--check: exit 1 when the
// committed file is stale, write nothing).
//
// Only the schemas the appliance sends or reads are generated, each with everything it references.
// Policy is cut down to the fields we set: a policy using any other field is refused with its
// name, not sent half-understood. The zod objects are strict (an unknown field is an error naming
// its path) and enums list exactly the discovery document's values. It stops on any construct it
// does not know, so a new revision cannot silently widen or narrow what is accepted.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const DISCOVERY = 'src/android/discovery/androidmanagement-v1.discovery.json';
const OUT = 'src/android/amapi/schemas.generated.ts';

/** The schemas we use; a list picks the fields of that schema we use, `'all'` keeps every one. */
const ROOTS: Record<string, 'all' | readonly string[]> = {
  SignupUrl: 'all',
  Enterprise: 'all',
  EnrollmentToken: 'all',
  Operation: 'all',
  Status: 'all',
  Empty: 'all',
  Device: 'all',
  ListDevicesResponse: 'all',
  Command: 'all',
  Policy: [
    'name',
    'version',
    'passwordRequirements',
    'passwordPolicies',
    'maximumTimeToLock',
    'encryptionPolicy',
    'cameraAccess',
    'screenCaptureDisabled',
    'factoryResetDisabled',
    'applications',
    'playStoreMode',
    'installAppsDisabled',
    'minimumApiLevel',
    'personalUsagePolicies',
    'statusReportingSettings',
    'policyEnforcementRules',
  ],
};

interface Prop {
  type?: string;
  format?: string;
  $ref?: string;
  enum?: string[];
  items?: Prop;
  additionalProperties?: Prop;
  properties?: Record<string, Prop>;
  description?: string;
  readOnly?: boolean;
  deprecated?: boolean;
  enumDescriptions?: string[];
  enumDeprecated?: boolean[];
  id?: string;
}
const KNOWN_KEYS = new Set(['id', 'type', 'format', '$ref', 'enum', 'items', 'additionalProperties', 'properties', 'description', 'readOnly', 'deprecated', 'enumDescriptions', 'enumDeprecated']);

class SchemaError extends Error {}
function fail(where: string, message: string): never {
  throw new SchemaError(`${where}: ${message}`);
}

interface Discovery {
  revision: string;
  schemas: Record<string, Prop>;
}

/** One line of the description for a doc comment: its first sentence, shortened. */
function doc(description: string | undefined, indent: string, extra: string[] = []): string {
  const parts: string[] = [];
  if (description) {
    const first = (description.split(/(?<=\.)\s/)[0] ?? description).replace(/\s+/g, ' ').trim();
    parts.push(first.length > 200 ? `${first.slice(0, 197)}...` : first);
  }
  parts.push(...extra);
  if (parts.length === 0) return '';
  return `${indent}/** ${parts.join(' ').replaceAll('*/', '*\\/')} */\n`;
}

function expression(p: Prop, where: string, refs: Set<string>): string {
  for (const k of Object.keys(p)) if (!KNOWN_KEYS.has(k)) fail(where, `unknown discovery key "${k}"`);
  if (p.$ref) {
    refs.add(p.$ref);
    return p.$ref;
  }
  if (p.enum) {
    if (p.type !== 'string') fail(where, 'an enum that is not a string');
    return `z.enum(${JSON.stringify(p.enum)})`;
  }
  switch (p.type) {
    case 'string':
      switch (p.format) {
        case undefined:
        case 'google-fieldmask':
          return 'z.string()';
        case 'int64':
          // proto3 JSON carries 64-bit integers as decimal strings.
          return 'int64';
        case 'google-duration':
          return 'duration';
        case 'google-datetime':
          return 'timestamp';
        case 'byte':
          return 'bytes';
        default:
          return fail(where, `unknown string format ${p.format}`);
      }
    case 'integer':
      if (p.format !== 'int32' && p.format !== 'uint32') fail(where, `unknown integer format ${p.format}`);
      return p.format === 'int32' ? 'int32' : 'uint32';
    case 'number':
      if (p.format !== 'double' && p.format !== 'float') fail(where, `unknown number format ${p.format}`);
      return 'z.number()';
    case 'boolean':
      return 'z.boolean()';
    case 'any':
      return 'z.unknown()';
    case 'array':
      if (!p.items) fail(where, 'an array without items');
      return `z.array(${expression(p.items!, `${where}[]`, refs)})`;
    case 'object':
      if (p.properties) fail(where, 'an inline object with properties');
      if (!p.additionalProperties) fail(where, 'an object without additionalProperties');
      return `z.record(z.string(), ${expression(p.additionalProperties!, `${where}{}`, refs)})`;
    default:
      return fail(where, `unknown type ${String(p.type)}`);
  }
}

interface Emitted {
  name: string;
  code: string;
  refs: Set<string>;
}

function emitSchema(name: string, schema: Prop, pick: 'all' | readonly string[]): Emitted {
  if (schema.type !== 'object') fail(name, 'a top-level schema that is not an object');
  const props = schema.properties ?? {};
  const names = pick === 'all' ? Object.keys(props) : pick;
  const refs = new Set<string>();
  const lines: string[] = [];
  for (const field of names) {
    const p = props[field];
    if (!p) fail(name, `no field "${field}" in the discovery document`);
    const tags = [p!.readOnly ? '(Output only.)' : '', p!.deprecated ? '@deprecated' : ''].filter(Boolean);
    lines.push(`${doc(p!.description, '  ', tags)}  ${field}: ${expression(p!, `${name}.${field}`, refs)}.optional(),`);
  }
  const picked = pick === 'all' ? '' : ` Only the fields the appliance sets (${names.length} of ${Object.keys(props).length}).`;
  const head = doc(schema.description, '', picked ? [picked.trim()] : []);
  const body = lines.length ? `z.strictObject({\n${lines.join('\n')}\n})` : 'z.strictObject({})';
  return { name, refs, code: `${head}export const ${name} = ${body};\nexport type ${name} = z.infer<typeof ${name}>;\n` };
}

export function generate(discovery: Discovery): string {
  const emitted = new Map<string, Emitted>();
  const queue = Object.keys(ROOTS);
  while (queue.length) {
    const name = queue.shift()!;
    if (emitted.has(name)) continue;
    const schema = discovery.schemas[name];
    if (!schema) fail(name, 'no such schema in the discovery document');
    const e = emitSchema(name, schema!, ROOTS[name] ?? 'all');
    emitted.set(name, e);
    queue.push(...e.refs);
  }
  // Referenced schemas first: a const cannot be used before it is defined.
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') fail(name, `recursive schemas are not supported: ${[...trail, name].join(' → ')}`);
    state.set(name, 'visiting');
    for (const r of [...emitted.get(name)!.refs].sort()) visit(r, [...trail, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of [...emitted.keys()].sort()) visit(name, []);

  return `// Generated by scripts/gen-amapi-types.ts from ${DISCOVERY}
// (revision ${discovery.revision}). Do not edit: change the generator and run npm run gen:amapi-types.
import { z } from 'zod';

const int64 = z.string().regex(/^-?\\d{1,19}$/, 'must be a 64-bit integer as a decimal string');
const int32 = z.number().int('must be an integer').min(-2147483648).max(2147483647);
const uint32 = z.number().int('must be an integer').min(0).max(4294967295);
const duration = z.string().regex(/^-?\\d{1,12}(\\.\\d{1,9})?s$/, 'must be a duration in seconds such as "3.5s"');
const timestamp = z.string().regex(/^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$/, 'must be an RFC 3339 timestamp');
const bytes = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');

export const DISCOVERY_REVISION = ${JSON.stringify(discovery.revision)};

${order.map((n) => emitted.get(n)!.code).join('\n')}`;
}

function main(): number {
  const check = process.argv.includes('--check');
  const discovery = JSON.parse(fs.readFileSync(path.join(root, DISCOVERY), 'utf8')) as Discovery;
  let out: string;
  try {
    out = generate(discovery);
  } catch (e) {
    if (e instanceof SchemaError) {
      process.stderr.write(`gen-amapi-types: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const file = path.join(root, OUT);
  if (check) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (current !== out) {
      process.stderr.write(`${OUT} is stale: run npm run gen:amapi-types\n`);
      return 1;
    }
    return 0;
  }
  fs.writeFileSync(file, out);
  process.stdout.write(`wrote ${OUT}\n`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) process.exitCode = main();
