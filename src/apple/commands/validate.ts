import { AppError } from '../../errors.ts';
import type { KeyNode, ValueType } from './types.ts';

/**
 * Containers in a validated value whose member (by key or index) the schema types <real>. A JS
 * number does not say whether 1 is an integer or a real, so the plist writer asks here.
 */
export type RealSlots = Map<object, Set<string | number>>;

export interface Validated {
  value: Record<string, unknown>;
  reals: RealSlots;
}

/**
 * Checks a command's parameters against its schema keys and returns a copy ready for the plist
 * writer: base64 strings become Buffers, ISO strings Dates, undefined members are dropped.
 * Written over the catalog tree rather than through zod: the tree already is the schema, and
 * one pass both names the exact key path in the message and records which numbers are reals.
 */
export function validateParams(keys: KeyNode[], params: unknown, head: Record<string, unknown> = {}): Validated {
  const reals: RealSlots = new Map();
  // `head` (the RequestType) goes first in the same object, so the slots recorded for it hold.
  return { value: dictionary(keys, params, 'Command', reals, { ...head }), reals };
}

const invalid = (path: string, reason: string) => new AppError('invalid_command_params', `${path}: ${reason}`, 422);

const EXPECTED: Record<ValueType, string> = {
  string: 'a string',
  integer: 'an integer',
  real: 'a number',
  boolean: 'a boolean',
  date: 'a date (a Date or an ISO 8601 string with a time zone)',
  data: 'data (a Buffer, a Uint8Array or a base64 string)',
  array: 'an array',
  dictionary: 'a dictionary',
  any: 'a property-list value',
};

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'data';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'number') return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v === 'object' ? 'a dictionary' : `a ${typeof v}`;
}

const wrongType = (path: string, type: ValueType, v: unknown) => invalid(path, `must be ${EXPECTED[type]}, got ${kind(v)}`);

const oneOf = (values: ReadonlyArray<string | number>) => {
  const shown = values.slice(0, 12).map((v) => JSON.stringify(v)).join(', ');
  return `must be one of ${shown}${values.length > 12 ? `, … (${values.length} values)` : ''}`;
};

const member = (path: string, key: string) => (/^[A-Za-z0-9_-]+$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);

/** A plain object (what JSON and property lists make), not an array, data, a date or a class instance. */
export const isDictionary = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

// Characters XML 1.0 cannot carry at all (plist is XML): C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;

// A member named "__proto__" (JSON.parse makes those) must stay a member, not replace the prototype.
const put = (o: Record<string, unknown>, k: string, v: unknown) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

function text(v: string, path: string): string {
  if (NOT_XML.test(v)) throw invalid(path, 'contains a character a property list cannot carry (a control character or a lone surrogate)');
  return v;
}

function dictionary(keys: KeyNode[], v: unknown, path: string, reals: RealSlots, out: Record<string, unknown> = {}): Record<string, unknown> {
  if (!isDictionary(v)) throw wrongType(path, 'dictionary', v);
  const named = new Map(keys.filter((k) => !k.wildcard).map((k) => [k.key, k]));
  const wildcard = keys.find((k) => k.wildcard);
  for (const [name, value] of Object.entries(v)) {
    if (value === undefined) continue;
    const at = member(path, name);
    const node = named.get(name) ?? wildcard;
    if (!node) {
      const known = [...named.keys()];
      throw invalid(at, known.length ? `unknown key (known: ${known.join(', ')})` : 'unknown key (this takes no parameters)');
    }
    put(out, text(name, at), checked(node, value, at, out, name, reals));
  }
  for (const k of named.values()) if (k.presence === 'required' && !Object.hasOwn(out, k.key)) throw invalid(member(path, k.key), 'is required');
  return out;
}

function checked(node: KeyNode, v: unknown, path: string, parent: object, slot: string | number, reals: RealSlots): unknown {
  const out = typed(node, v, path, reals);
  if (node.type === 'real') {
    if (!reals.has(parent)) reals.set(parent, new Set());
    reals.get(parent)!.add(slot);
  }
  if (node.rangelist && !node.rangelist.includes(out as string | number)) throw invalid(path, oneOf(node.rangelist));
  if (node.range && typeof out === 'number') {
    const { min, max } = node.range;
    if ((min !== undefined && out < min) || (max !== undefined && out > max)) throw invalid(path, `must be between ${min ?? '-∞'} and ${max ?? '∞'}`);
  }
  return out;
}

function typed(node: KeyNode, v: unknown, path: string, reals: RealSlots): unknown {
  switch (node.type) {
    case 'string':
      if (typeof v !== 'string') throw wrongType(path, 'string', v);
      return text(v, path);
    case 'integer':
      if (!Number.isSafeInteger(v)) throw wrongType(path, 'integer', v);
      return v;
    case 'real':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw wrongType(path, 'real', v);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw wrongType(path, 'boolean', v);
      return v;
    case 'date':
      return date(v, path);
    case 'data':
      return data(v, path);
    case 'dictionary':
      return dictionary(node.subkeys ?? [], v, path, reals);
    case 'array': {
      if (!Array.isArray(v)) throw wrongType(path, 'array', v);
      const out: unknown[] = [];
      for (let i = 0; i < v.length; i++) {
        const at = `${path}[${i}]`;
        out.push(checked(node.discriminator ? shapeOf(node, v[i], at) : node.subkeys![0]!, v[i], at, out, i, reals));
      }
      return out;
    }
    case 'any':
      return any(v, path);
  }
}

/** The element shape of an array of several dictionary shapes, picked by the discriminator's value. */
function shapeOf(node: KeyNode, v: unknown, path: string): KeyNode {
  if (!isDictionary(v)) throw wrongType(path, 'dictionary', v);
  const name = node.discriminator!;
  const tag = v[name];
  const shape = node.subkeys!.find((s) => s.subkeys!.find((k) => k.key === name)!.rangelist!.includes(tag as string | number));
  if (shape) return shape;
  if (tag === undefined) throw invalid(member(path, name), 'is required');
  throw invalid(member(path, name), oneOf(node.subkeys!.flatMap((s) => s.subkeys!.find((k) => k.key === name)!.rangelist!)));
}

function date(v: unknown, path: string): Date {
  const d = v instanceof Date ? v : typeof v === 'string' && ISO_DATE.test(v) ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw wrongType(path, 'date', v);
  return d;
}

function data(v: unknown, path: string): Buffer {
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string' && BASE64.test(v)) return Buffer.from(v, 'base64');
  throw wrongType(path, 'data', v);
}

/**
 * <any> (app configurations, manifests): anything a plist can hold. Numbers follow the plist
 * library's rule, integral ones are <integer> and the rest <real>.
 */
function any(v: unknown, path: string): unknown {
  if (typeof v === 'string') return text(v, path);
  if (typeof v === 'boolean' || v instanceof Uint8Array) return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v;
  if (Array.isArray(v)) return v.map((e, i) => any(e, `${path}[${i}]`));
  if (isDictionary(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) {
      if (e === undefined) continue;
      const at = member(path, k);
      put(out, text(k, at), any(e, at));
    }
    return out;
  }
  throw invalid(path, `must be ${EXPECTED.any} (string, number, boolean, date, data, array or dictionary), got ${kind(v)}`);
}
