// A strict reader for XML property lists, written by hand because the npm readers do not fit the
// check-in path: `plist` builds an xmldom DOM first (50–100 µs per check-in message, a fifth of
// the server's CPU per check-in), and the fast ones are lenient (fast-plist returns <data> as a
// base64 string and takes `<string>x</dict>` as a string) or unmaintained. The format is small:
// one root value in <plist>, eight value elements, XML's five entities, character references,
// CDATA and comments. What it returns matches `plist` (data as Uint8Array, dates as Date), and
// test/plist-reader.test.ts checks it against `plist` on every fixture.

export class PlistSyntaxError extends Error {}

const MAX_DEPTH = 256;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const INTEGER = /^[+-]?(?:\d+|0[xX][0-9a-fA-F]+)$/;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]+)$/;
const REAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_REALS: Record<string, number> = { nan: NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity };
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const WHITESPACE = /[ \t\r\n]+/g;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
const isNameChar = (c: number) => c > 0x20 && c !== 0x3e && c !== 0x2f && c !== 0x3d && c !== 0x3c;

/** Parses an XML property list's text into its root value. Throws PlistSyntaxError (with the offset) when it is not one. */
export function parseXmlPlist(xml: string): unknown {
  let i = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (what: string): never => {
    throw new PlistSyntaxError(`${what} at offset ${i}`);
  };

  /** Skips whitespace, comments and processing instructions; `prolog` also allows one DOCTYPE. */
  const skipMisc = (prolog: boolean) => {
    for (;;) {
      while (i < xml.length && isSpace(xml.charCodeAt(i))) i++;
      if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (xml.startsWith('<?', i)) {
        const end = xml.indexOf('?>', i + 2);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else if (prolog && xml.startsWith('<!DOCTYPE', i)) {
        // Quoted public and system identifiers may hold '>'; an internal subset could declare entities: refused.
        let j = i + 9;
        while (j < xml.length && xml.charCodeAt(j) !== 0x3e) {
          const c = xml.charCodeAt(j);
          if (c === 0x5b) fail('a DOCTYPE internal subset is not accepted');
          if (c === 0x22 || c === 0x27) {
            const close = xml.indexOf(xml[j]!, j + 1);
            if (close < 0) fail('unterminated DOCTYPE');
            j = close;
          }
          j++;
        }
        if (j >= xml.length) fail('unterminated DOCTYPE');
        i = j + 1;
        prolog = false;
      } else return;
    }
  };

  /** Reads `<name attrs>` or `<name attrs/>` at i; returns the name and whether it closed itself. */
  const openTag = (): { name: string; empty: boolean } => {
    if (xml.charCodeAt(i) !== 0x3c) fail('expected an element');
    let j = i + 1;
    while (j < xml.length && isNameChar(xml.charCodeAt(j))) j++;
    const name = xml.slice(i + 1, j);
    if (!name) fail('expected an element name');
    // Attributes (only <plist version="1.0"> has any) are checked for form and ignored.
    for (;;) {
      while (j < xml.length && isSpace(xml.charCodeAt(j))) j++;
      const c = xml.charCodeAt(j);
      if (c === 0x3e) {
        i = j + 1;
        return { name, empty: false };
      }
      if (c === 0x2f && xml.charCodeAt(j + 1) === 0x3e) {
        i = j + 2;
        return { name, empty: true };
      }
      const start = j;
      while (j < xml.length && isNameChar(xml.charCodeAt(j))) j++;
      if (j === start) (i = j), fail(`malformed <${name}> tag`);
      while (j < xml.length && isSpace(xml.charCodeAt(j))) j++;
      if (xml.charCodeAt(j) !== 0x3d) (i = j), fail(`attribute without a value in <${name}>`);
      j++;
      while (j < xml.length && isSpace(xml.charCodeAt(j))) j++;
      const q = xml.charCodeAt(j);
      if (q !== 0x22 && q !== 0x27) (i = j), fail(`unquoted attribute value in <${name}>`);
      const close = xml.indexOf(xml[j]!, j + 1);
      if (close < 0) (i = j), fail(`unterminated attribute value in <${name}>`);
      j = close + 1;
    }
  };

  const closeTag = (name: string) => {
    if (!xml.startsWith('</', i) || !xml.startsWith(name, i + 2)) fail(`expected </${name}>`);
    let j = i + 2 + name.length;
    while (j < xml.length && isSpace(xml.charCodeAt(j))) j++;
    if (xml.charCodeAt(j) !== 0x3e) fail(`expected </${name}>`);
    i = j + 1;
  };

  /** Character data up to the closing tag of `name`: entities, character references, CDATA and comments resolved. */
  const text = (name: string): string => {
    let out = '';
    for (;;) {
      const lt = xml.indexOf('<', i);
      if (lt < 0) fail(`unterminated <${name}>`);
      const amp = xml.indexOf('&', i);
      if (amp >= 0 && amp < lt) {
        out += xml.slice(i, amp);
        const semi = xml.indexOf(';', amp);
        if (semi < 0 || semi - amp > 10) (i = amp), fail('malformed entity reference');
        const ref = xml.slice(amp + 1, semi);
        if (ref.charCodeAt(0) === 0x23) {
          const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
          const digits = ref[1] === 'x' ? /^#x[0-9a-fA-F]+$/ : /^#\d+$/;
          if (!digits.test(ref) || !(code > 0 && code <= 0x10ffff)) (i = amp), fail(`bad character reference &${ref};`);
          out += String.fromCodePoint(code);
        } else {
          const ch = ENTITIES[ref];
          if (ch === undefined) (i = amp), fail(`unknown entity &${ref};`);
          out += ch;
        }
        i = semi + 1;
        continue;
      }
      out += xml.slice(i, lt);
      i = lt;
      if (xml.startsWith('<![CDATA[', i)) {
        const end = xml.indexOf(']]>', i + 9);
        if (end < 0) fail('unterminated CDATA section');
        out += xml.slice(i + 9, end);
        i = end + 3;
      } else if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else {
        closeTag(name);
        // XML hands applications normalised line ends.
        return out.indexOf('\r') < 0 ? out : out.replace(/\r\n?/g, '\n');
      }
    }
  };

  /** Past what may separate a container's members: true (and past it) when its end tag follows. */
  const closes = (name: string): boolean => {
    skipMisc(false);
    if (!xml.startsWith('</', i)) return false;
    closeTag(name);
    return true;
  };

  const scalarText = (name: string, empty: boolean) => (empty ? '' : text(name).trim());

  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail('property list nested too deeply');
    const at = i;
    const { name, empty } = openTag();
    switch (name) {
      case 'dict': {
        const dict: Record<string, unknown> = {};
        if (empty) return dict;
        while (!closes('dict')) {
          const keyAt = i;
          const k = openTag();
          if (k.name !== 'key') (i = keyAt), fail(`expected <key> in <dict>, found <${k.name}>`);
          const key = k.empty ? '' : text('key');
          if (key === '__proto__') (i = keyAt), fail('a __proto__ key is not accepted');
          skipMisc(false);
          if (xml.startsWith('</', i)) fail(`<key>${key}</key> has no value`);
          dict[key] = value(depth + 1);
        }
        return dict;
      }
      case 'array': {
        const array: unknown[] = [];
        if (empty) return array;
        while (!closes('array')) array.push(value(depth + 1));
        return array;
      }
      case 'string':
        return empty ? '' : text('string');
      case 'integer': {
        const s = scalarText(name, empty);
        if (!INTEGER.test(s)) (i = at), fail(`bad <integer> "${s.slice(0, 40)}"`);
        const hex = HEX.exec(s);
        return hex ? (hex[1] === '-' ? -1 : 1) * parseInt(hex[2]!, 16) : Number(s);
      }
      case 'real': {
        const s = scalarText(name, empty);
        const special = SPECIAL_REALS[s.toLowerCase()];
        if (special !== undefined) return special;
        if (!REAL.test(s)) (i = at), fail(`bad <real> "${s.slice(0, 40)}"`);
        return Number(s);
      }
      case 'true':
      case 'false':
        if (!empty) closeTag(name);
        return name === 'true';
      case 'date': {
        const s = scalarText(name, empty);
        const d = DATE.test(s) ? new Date(s) : null;
        if (!d || Number.isNaN(d.getTime())) (i = at), fail(`bad <date> "${s.slice(0, 40)}"`);
        return d;
      }
      case 'data': {
        const s = empty ? '' : text('data').replace(WHITESPACE, '');
        if (!BASE64.test(s) || s.length % 4 === 1) (i = at), fail('bad base64 in <data>');
        const b = Buffer.from(s, 'base64');
        // A copy of its own, not a view of Node's shared pool, as `plist` returns.
        return new Uint8Array(b);
      }
      default:
        i = at;
        return fail(`unknown element <${name}>`);
    }
  };

  skipMisc(true);
  const root = openTag();
  if (root.name !== 'plist') fail('the root element is not <plist>');
  if (root.empty) fail('<plist> holds no value');
  skipMisc(false);
  const result = value(1);
  skipMisc(false);
  closeTag('plist');
  skipMisc(false);
  if (i < xml.length) fail('content after </plist>');
  return result;
}
