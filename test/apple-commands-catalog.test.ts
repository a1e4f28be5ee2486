import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'plist';
import { buildCommand, type BuiltCommand } from '../src/apple/commands/build.ts';
import { commandSpec, requestTypes } from '../src/apple/commands/catalog.ts';
import type { KeyNode } from '../src/apple/commands/types.ts';
import { isAppError } from '../src/errors.ts';
import { peer } from './support/peers.ts';

// Every RequestType in the catalog, built from sample values the schema itself dictates, then
// broken one key at a time in every way the schema can refuse.

type Segment = string | number;

interface SampleKind {
  /** every key, or only the required ones */
  full: boolean;
  /** data as base64 and dates as ISO strings, rather than Buffers and Dates */
  strings: boolean;
}

/** A schema-valid value: the first rangelist value, the range's minimum, else a plain one. */
function sample(node: KeyNode, kind: SampleKind): unknown {
  if (node.rangelist) return node.rangelist[0];
  switch (node.type) {
    case 'string':
      return `sample ${node.key}`;
    case 'integer':
      return node.range?.min ?? 7;
    case 'real':
      return node.range?.min ?? 0.5;
    case 'boolean':
      return true;
    case 'date':
      return kind.strings ? '2024-05-01T12:00:00Z' : new Date('2024-05-01T12:00:00Z');
    case 'data':
      return kind.strings ? Buffer.from(`sample ${node.key}`).toString('base64') : Buffer.from(`sample ${node.key}`);
    case 'any':
      return kind.full ? { nested: [1, 2.5, 'x', false, new Date(0), Buffer.from('x')] } : 'sample';
    case 'array':
      return node.discriminator ? node.subkeys!.map((s) => sample(s, kind)) : [sample(node.subkeys![0]!, kind)];
    case 'dictionary':
      return sampleDictionary(node.subkeys!, kind);
  }
}

function sampleDictionary(keys: KeyNode[], kind: SampleKind): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (kind.full || k.presence === 'required') out[k.wildcard ? 'SampleMember' : k.key] = sample(k, kind);
  return out;
}

const keyPath = (segments: Segment[]) =>
  'Command' + segments.map((s) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z0-9_-]+$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`)).join('');

/** Comparable form of plist values: data and dates as tagged strings. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { data: Buffer.from(v).toString('base64') };
  if (v instanceof Date) return { date: v.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, plain(e)]));
  return v;
}

interface Mutation {
  what: string;
  path: Segment[];
  /** undefined: delete the member; otherwise the value put there. */
  value?: unknown;
  remove?: true;
  expect: RegExp;
}

const WRONG: Record<KeyNode['type'], unknown> = {
  string: 42,
  integer: 1.5,
  real: 'x',
  boolean: 'true',
  date: 'yesterday',
  data: 'not base64!',
  array: 'x',
  dictionary: ['x'],
  any: null,
};

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every way to break the full sample, one key at a time. */
function mutations(keys: KeyNode[], at: Segment[], out: Mutation[] = []): Mutation[] {
  const dictAt = escape(keyPath(at));
  if (!keys.some((k) => k.wildcard)) out.push({ what: 'unknown key', path: [...at, 'NotAKey'], value: 1, expect: new RegExp(`^${dictAt}\\.NotAKey: unknown key`) });
  for (const k of keys) {
    const p = [...at, k.wildcard ? 'SampleMember' : k.key];
    if (k.presence === 'required' && !k.wildcard) out.push({ what: 'missing', path: p, remove: true, expect: new RegExp(`^${escape(keyPath(p))}: is required$`) });
    node(k, p, out);
  }
  return out;
}

function node(k: KeyNode, p: Segment[], out: Mutation[]) {
  const at = escape(keyPath(p));
  out.push({ what: `wrong type for ${k.type}`, path: p, value: WRONG[k.type], expect: new RegExp(`^${at}: must be `) });
  if (k.type === 'integer') out.push({ what: 'string for integer', path: p, value: '7', expect: new RegExp(`^${at}: must be an integer`) });
  if (k.rangelist) {
    const bad = k.type === 'string' ? 'NotInTheList' : 987654;
    out.push({ what: 'outside rangelist', path: p, value: bad, expect: new RegExp(`^${at}: must be one of `) });
  }
  if (k.range?.min !== undefined) out.push({ what: 'below range', path: p, value: k.range.min - 1, expect: new RegExp(`^${at}: must be between `) });
  if (k.range?.max !== undefined) out.push({ what: 'above range', path: p, value: k.range.max + 1, expect: new RegExp(`^${at}: must be between `) });
  if (k.type === 'dictionary') mutations(k.subkeys!, p, out);
  if (k.type === 'array') {
    if (k.discriminator) {
      k.subkeys!.forEach((shape, i) => {
        out.push({ what: 'element not a dictionary', path: [...p, i], value: 'x', expect: new RegExp(`^${escape(keyPath([...p, i]))}: must be a dictionary`) });
        out.push({ what: 'unknown shape', path: [...p, i, k.discriminator!], value: 'NotAShape', expect: new RegExp(`^${escape(keyPath([...p, i, k.discriminator!]))}: must be one of `) });
        mutations(shape.subkeys!.filter((s) => s.key !== k.discriminator), [...p, i], out);
      });
    } else node(k.subkeys![0]!, [...p, 0], out);
  }
}

function mutate(base: Record<string, unknown>, m: Mutation): Record<string, unknown> {
  const copy = structuredClone(base);
  let target: Record<string | number, unknown> = copy;
  for (const s of m.path.slice(0, -1)) target = target[s] as Record<string | number, unknown>;
  const last = m.path.at(-1)!;
  if (m.remove) delete target[last];
  else target[last] = m.value;
  return copy;
}

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isAppError(e), `not an AppError: ${e}`);
    assert.equal(e.code, 'invalid_command_params');
    assert.equal(e.status, 422);
    return e.message;
  }
  assert.fail('accepted');
}

describe('the command catalog', () => {
  const types = requestTypes();

  test('holds all 66 RequestTypes of Apple\'s schemas, and is what the generator makes of the YAML copies', () => {
    const yamls = fs.readdirSync('src/apple/schemas/commands').filter((f) => f.endsWith('.yaml'));
    assert.equal(yamls.length, 66);
    assert.equal(types.length, 66);
    assert.deepEqual(types, [...types].sort());
    for (const t of ['DeviceInformation', 'DeviceLock', 'EraseDevice', 'InstallProfile', 'InstalledApplicationList', 'SecurityInfo', 'ProfileList', 'CertificateList', 'Settings']) {
      assert.ok(types.includes(t), t);
    }
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/gen-apple-commands.ts', '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `catalog.generated.json is stale or the generator failed: ${r.stderr}`);
  });

  test('every command states its platforms, and every key a known type', () => {
    const walk = (keys: KeyNode[]) => {
      for (const k of keys) {
        assert.match(k.type, /^(string|integer|real|boolean|date|data|array|dictionary|any)$/);
        assert.match(k.presence, /^(required|optional)$/);
        if (k.type === 'array' || k.type === 'dictionary') assert.ok(k.subkeys?.length, k.key);
        walk(k.subkeys ?? []);
      }
    };
    for (const t of types) {
      const spec = commandSpec(t);
      assert.ok(Object.keys(spec.supportedOS).length > 0, t);
      for (const os of Object.values(spec.supportedOS)) assert.match(os.introduced, /^\d+(\.\d+)*$/, t);
      walk(spec.payloadKeys);
      walk(spec.responseKeys);
    }
  });

  const built: Array<{ name: string; cmd: BuiltCommand }> = [];

  test('every RequestType builds with its required keys, and with every key, from schema-valid samples', () => {
    for (const t of types) {
      const keys = commandSpec(t).payloadKeys;
      for (const full of [false, true]) {
        const cmd = buildCommand(t, sampleDictionary(keys, { full, strings: false }));
        assert.equal(cmd.requestType, t);
        assert.equal(cmd.dict.Command.RequestType, t);
        assert.equal(cmd.dict.CommandUUID, cmd.uuid);
        assert.deepEqual(plain(parse(cmd.plistXml.toString('utf8'))), plain(cmd.dict), `${t} (${full ? 'all keys' : 'required keys'})`);
        // Base64 and ISO strings make the same command as Buffers and Dates.
        const fromStrings = buildCommand(t, sampleDictionary(keys, { full, strings: true }), { uuid: cmd.uuid });
        assert.deepEqual(plain(fromStrings.dict), plain(cmd.dict), t);
        assert.ok(fromStrings.plistXml.equals(cmd.plistXml), t);
        built.push({ name: `${t}-${full ? 'full' : 'required'}`, cmd });
      }
    }
    assert.equal(built.length, 132);
  });

  test('plistutil (libplist) reads every built command and converts it to binary and back unchanged', (t) => {
    const p = peer('plistutil', ['--version']);
    if (!p.ok) return t.skip(p.reason);
    assert.ok(built.length, 'the build test ran first');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-commands-'));
    try {
      for (const { name, cmd } of built) {
        const xml = path.join(dir, `${name}.plist`);
        const bin = path.join(dir, `${name}.bplist`);
        const back = path.join(dir, `${name}.back.plist`);
        fs.writeFileSync(xml, cmd.plistXml);
        for (const args of [['-i', xml, '-o', bin], ['-i', bin, '-f', 'xml', '-o', back]]) {
          const r = spawnSync('plistutil', args, { encoding: 'utf8' });
          assert.equal(r.status, 0, `plistutil ${args.join(' ')}: ${r.stderr}`);
        }
        assert.equal(fs.readFileSync(bin).subarray(0, 8).toString('latin1'), 'bplist00', name);
        const again = fs.readFileSync(back, 'utf8');
        assert.deepEqual(plain(parse(again)), plain(cmd.dict), name);
        // libplist keeps each number's plist type: what it writes back has as many <real>s as we wrote.
        const reals = (s: string) => (s.match(/<real>/g) ?? []).length;
        assert.equal(reals(again), reals(cmd.plistXml.toString('utf8')), name);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every key refuses the wrong type, a missing required key, a value outside its rangelist and unknown siblings, naming the key path', () => {
    let count = 0;
    for (const t of types) {
      const keys = commandSpec(t).payloadKeys;
      const base = sampleDictionary(keys, { full: true, strings: false });
      for (const m of mutations(keys, [])) {
        const message = refused(() => buildCommand(t, mutate(base, m)));
        assert.match(message, m.expect, `${t}: ${m.what} at ${keyPath(m.path)}`);
        count++;
      }
    }
    // A floor, so a generator change that drops keys cannot pass unnoticed.
    assert.ok(count > 400, `${count} refusals checked`);
  });
});
