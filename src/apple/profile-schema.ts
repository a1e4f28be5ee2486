import { AppError } from '../errors.ts';
import type { AppleOs, PayloadKey, PayloadSchema } from './profile-schema-types.ts';
import { PROFILE_SCHEMAS } from './profile-schemas.generated.ts';

export type { AppleOs } from './profile-schema-types.ts';

function schema(payloadType: string): PayloadSchema {
  const s = PROFILE_SCHEMAS[payloadType];
  if (!s) throw new AppError('profile_invalid', `PayloadType ${payloadType}: no schema for this payload type`, 422);
  return s;
}

const keyOf = (s: PayloadSchema, key: string) => s.keys.find((k) => k.key === key);

/** Whether a payload key means something on `os`, and whether only on supervised devices; undefined when the schema has no such key. */
export function keySupport(payloadType: string, key: string, os: AppleOs): { supported: boolean; supervisedOnly: boolean } | undefined {
  const s = schema(payloadType);
  const k = keyOf(s, key);
  if (!k) return undefined;
  return {
    supported: !s.unsupported?.includes(os) && !k.unsupported?.includes(os),
    supervisedOnly: !!(s.supervised?.includes(os) || k.supervised?.includes(os)),
  };
}

function typeOk(type: PayloadKey['type'], v: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'real':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'date':
      return v instanceof Date;
    case 'data':
      return v instanceof Uint8Array;
    case 'array':
      return Array.isArray(v);
    case 'dictionary':
      return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array);
    case 'any':
      return v !== undefined && v !== null;
  }
}

const refuse = (at: string, why: string): never => {
  throw new AppError('profile_invalid', `${at}: ${why}`, 422);
};

function checkValue(k: PayloadKey, v: unknown, at: string): void {
  if (!typeOk(k.type, v)) refuse(at, `must be ${k.type === 'integer' ? 'an' : 'a'} ${k.type}`);
  if (k.rangelist && !k.rangelist.includes(v as string | number)) refuse(at, `must be one of ${k.rangelist.join(', ')}`);
  if (k.range && typeof v === 'number') {
    if (k.range.min !== undefined && v < k.range.min) refuse(at, `must be at least ${k.range.min}`);
    if (k.range.max !== undefined && v > k.range.max) refuse(at, `must be at most ${k.range.max}`);
  }
  if (k.type === 'array' && k.subkeys?.[0]) (v as unknown[]).forEach((item, i) => checkValue(k.subkeys![0]!, item, `${at}[${i}]`));
  if (k.type === 'dictionary' && k.subkeys) checkDict(k.subkeys, v as Record<string, unknown>, at);
}

function checkDict(keys: PayloadKey[], dict: Record<string, unknown>, at: string): void {
  const any = keys.find((k) => k.key === 'ANY');
  for (const [name, v] of Object.entries(dict)) {
    const k = keys.find((x) => x.key === name) ?? any;
    if (!k) refuse(`${at}.${name}`, 'not a key of this payload in Apple\'s schema');
    checkValue(k!, v, `${at}.${name}`);
  }
}

/**
 * Checks one payload against Apple's schema for `os`: every key known (its own or a common one),
 * of the right type, within range and value list, and meaningful on that platform. AppError
 * `profile_invalid` (422) naming the key otherwise: better refused here than by the device.
 */
export function validatePayload(payload: Record<string, unknown>, os: AppleOs): void {
  const type = payload.PayloadType;
  if (typeof type !== 'string') return refuse('PayloadType', 'missing');
  const s = schema(type);
  if (s.unsupported?.includes(os)) refuse(type, `not available on ${os}`);
  const common = schema('CommonPayloadKeys');
  for (const [name, v] of Object.entries(payload)) {
    const at = `${type}.${name}`;
    const k = keyOf(s, name) ?? keyOf(common, name);
    if (!k) refuse(at, "not a key of this payload in Apple's schema");
    if (k!.unsupported?.includes(os)) refuse(at, `not available on ${os}`);
    checkValue(k!, v, at);
  }
}

/** Checks a whole configuration profile: its top-level keys, then each payload of PayloadContent. */
export function validateProfile(profile: Record<string, unknown>, os: AppleOs): void {
  const top = schema('TopLevel');
  for (const [name, v] of Object.entries(profile)) {
    const k = keyOf(top, name);
    if (!k) refuse(name, "not a top-level key of a profile in Apple's schema");
    if (k!.unsupported?.includes(os)) refuse(name, `not available on ${os}`);
    if (name !== 'PayloadContent') checkValue(k!, v, name);
  }
  const content = profile.PayloadContent;
  if (!Array.isArray(content)) return refuse('PayloadContent', 'must be an array');
  for (const p of content) validatePayload(p as Record<string, unknown>, os);
}
