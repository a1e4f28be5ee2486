import crypto from 'node:crypto';
import { build, type PlistValue } from 'plist';
import type { RealSlots } from './validate.ts';

/**
 * XML plist of a validated command. The plist library writes a whole JS number as <integer>,
 * so 1.0 for a <real> key would reach the device as an integer: such members go in as a marker
 * string unique to this call and are turned into <real> in the text the library writes.
 */
export function commandPlistXml(dict: Record<string, unknown>, reals: RealSlots): Buffer {
  const marker = `real-${crypto.randomUUID()}:`;
  const wire = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map((e, i) => (reals.get(v)?.has(i) ? marker + String(e) : wire(e)));
    if (v && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array)) {
      const slots = reals.get(v);
      return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, slots?.has(k) ? marker + String(e) : wire(e)]));
    }
    return v;
  };
  const xml = build(wire(dict) as PlistValue).replaceAll(new RegExp(`<string>${marker}([^<]*)</string>`, 'g'), '<real>$1</real>');
  return Buffer.from(xml, 'utf8');
}
