// The hand-written XML plist reader against `plist` (xmldom): the same values for captured device
// messages, every simulated answer and random trees; XML's corners by hand; malformed input refused.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as plist from 'plist';
import { requestTypes } from '../src/apple/commands/catalog.ts';
import { buildCommand } from '../src/apple/commands/build.ts';
import { decodePlist } from '../src/apple/plist.ts';
import { PlistSyntaxError, parseXmlPlist } from '../src/apple/plist-reader.ts';
import { answerFor } from '../src/apple/simulator/answers.ts';
import { AppleDevice } from '../src/apple/simulator/device.ts';
import { newDevice } from '../src/apple/simulator/scep-client.ts';

const fixtures = path.join(import.meta.dirname, 'fixtures', 'apple-nanomdm');
const wrap = (inner: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">${inner}</plist>`;

test('captured device messages read as plist reads them', () => {
  const files = fs.readdirSync(fixtures).filter((f) => f.endsWith('.plist'));
  assert.ok(files.length >= 5);
  for (const f of files) {
    const xml = fs.readFileSync(path.join(fixtures, f), 'utf8');
    assert.deepStrictEqual(parseXmlPlist(xml), plist.parse(xml), f);
  }
});

test('every answer the simulator gives reads as plist reads it', () => {
  const device = new AppleDevice('http://127.0.0.1:1', { topic: 'com.apple.mgmt.test' });
  // A self-signed identity stands in for the SCEP one: CertificateList lists it.
  device.identity = newDevice(1024).selfSigned;
  let checked = 0;
  for (const requestType of requestTypes()) {
    let built;
    try {
      built = buildCommand(requestType);
    } catch {
      continue; // needs parameters: its answer is an Acknowledged or an Error like the others
    }
    const xml = plist.build(answerFor(device, plist.parse(built.plistXml.toString('utf8')) as Record<string, unknown>) as plist.PlistValue);
    assert.deepStrictEqual(parseXmlPlist(xml), plist.parse(xml), requestType);
    // The commands we build read back too.
    assert.deepStrictEqual(parseXmlPlist(built.plistXml.toString('utf8')), plist.parse(built.plistXml.toString('utf8')), `${requestType} command`);
    checked++;
  }
  assert.ok(checked > 20, `only ${checked} commands build without parameters`);
});

test('random trees read back as built', () => {
  // Seeded, so a failure can be replayed.
  let seed = 0x2f6b1d;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const chars = ['a', 'Z', '9', ' ', '\n', '\t', '&', '<', '>', '"', "'", 'é', '€', '漢', '😀', ']]>', '--', '&amp;'];
  const str = () => Array.from({ length: Math.floor(rnd() * 12) }, () => pick(chars)).join('');
  const gen = (depth: number): unknown => {
    const kind = depth > 4 ? Math.floor(rnd() * 6) : Math.floor(rnd() * 8);
    switch (kind) {
      case 0:
        return str();
      case 1:
        return Math.floor((rnd() - 0.5) * 2 ** 40);
      case 2:
        return Math.round((rnd() - 0.5) * 1e6) / 64 + 0.5;
      case 3:
        return rnd() < 0.5;
      case 4:
        return new Date(Math.floor(rnd() * 2e12 / 1000) * 1000);
      case 5:
        return new Uint8Array(crypto.randomBytes(Math.floor(rnd() * 100)));
      case 6:
        return Array.from({ length: Math.floor(rnd() * 5) }, () => gen(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 6) }, () => [str(), gen(depth + 1)]));
    }
  };
  for (let n = 0; n < 300; n++) {
    const tree = { root: gen(0) };
    const xml = plist.build(tree as plist.PlistValue);
    assert.deepStrictEqual(parseXmlPlist(xml), plist.parse(xml), `tree ${n}`);
  }
});

test("XML's corners: entities, character references, CDATA, comments, line ends, attributes, DOCTYPE", () => {
  const xml =
    '\ufeff<?xml version="1.0"?>\n<!-- before -->\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
    '<plist version=\'1.0\' note="a>b"><!-- c --><dict>\n' +
    '<key>e</key><string>&lt;&gt;&amp;&quot;&apos; &#65;&#x42;&#x1F600;</string>' +
    '<key>cdata</key><string><![CDATA[<not a tag> & ]]>x</string>' +
    '<key>comment</key><string>a<!-- gone -->b</string>' +
    '<key>crlf</key><string>one\r\ntwo\rthree</string>' +
    '<key>t</key><true></true><key>f</key><false/>' +
    '<key>hex</key><integer>0x1F</integer><key>neg</key><integer>-42</integer>' +
    '<key>real</key><real> 2.5e3 </real><key>inf</key><real>-infinity</real>' +
    '<key>date</key><date>2026-11-23T10:00:00Z</date>' +
    '<key>data</key><data>\n  aGVs\n  bG8=\n</data>' +
    '<key>emptydata</key><data/><key>emptystring</key><string/><key></key><dict/>' +
    '<key>space</key><string>  kept  </string>' +
    '</dict ></plist>\n<!-- after -->\n';
  assert.deepStrictEqual(parseXmlPlist(xml), {
    e: '<>&"\' AB😀',
    cdata: '<not a tag> & x',
    comment: 'ab',
    crlf: 'one\ntwo\nthree',
    t: true,
    f: false,
    hex: 31,
    neg: -42,
    real: 2500,
    inf: -Infinity,
    date: new Date('2026-11-23T10:00:00Z'),
    data: new Uint8Array(Buffer.from('hello')),
    emptydata: new Uint8Array(0),
    emptystring: '',
    '': {},
    space: '  kept  ',
  });
});

test('malformed property lists are refused with the offset', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /expected an element/],
    ['garbage', /expected an element/],
    ['<dict></dict>', /root element is not <plist>/],
    [wrap('<dict><key>a</key><string>x</dict>'), /expected <\/string>/],
    [wrap('<dict><key>a</key><string>x</string>'), /expected an element|expected <\/dict>/],
    [wrap('<dict><key>a</key></dict>'), /has no value/],
    [wrap('<dict><string>a</string></dict>'), /expected <key>/],
    [wrap('<dict><key>a</key><foo/></dict>'), /unknown element <foo>/],
    [wrap('<integer>12abc</integer>'), /bad <integer>/],
    [wrap('<integer></integer>'), /bad <integer>/],
    [wrap('<real>1.2.3</real>'), /bad <real>/],
    [wrap('<date>yesterday</date>'), /bad <date>/],
    [wrap('<date>2026-13-45T99:00:00Z</date>'), /bad <date>/],
    [wrap('<data>not*base64</data>'), /bad base64/],
    [wrap('<data>abcde</data>'), /bad base64/],
    [wrap('<string>&nbsp;</string>'), /unknown entity/],
    [wrap('<string>&#0;</string>'), /bad character reference/],
    [wrap('<string>a & b</string>'), /malformed entity reference/],
    [wrap('<string>a<b>c</b></string>'), /expected <\/string>/],
    [wrap('<dict><key>__proto__</key><dict/></dict>'), /__proto__/],
    [wrap('<true>yes</true>'), /expected <\/true>/],
    [wrap('<string>x</string><string>y</string>'), /expected <\/plist>/],
    [wrap('<dict>stray<key>a</key><true/></dict>'), /expected an element/],
    [wrap('<string>x</string>') + '<more/>', /content after <\/plist>/],
    ['<!DOCTYPE plist [<!ENTITY x "y">]><plist><string>&x;</string></plist>', /internal subset/],
    ['<plist version=1.0><true/></plist>', /unquoted attribute/],
    ['<plist/>', /holds no value/],
    ['<plist><string>unterminated', /unterminated <string>/],
    [wrap('<!-- open'), /unterminated comment/],
    [wrap('<array>'.repeat(300) + '</array>'.repeat(300)), /nested too deeply/],
  ];
  for (const [xml, re] of bad) {
    assert.throws(() => parseXmlPlist(xml), (e: unknown) => e instanceof PlistSyntaxError && re.test(e.message) && /at offset \d+/.test(e.message), xml.slice(0, 120));
  }
});

test('decodePlist: the root must be a dictionary, errors are bad_plist', () => {
  assert.deepStrictEqual(decodePlist(Buffer.from(wrap('<dict><key>a</key><integer>1</integer></dict>'))), { a: 1 });
  for (const xml of [wrap('<array/>'), wrap('<string>x</string>'), wrap('<data>aGk=</data>'), 'not xml']) {
    assert.throws(() => decodePlist(Buffer.from(xml)), (e: unknown) => (e as { code?: string }).code === 'bad_plist', xml);
  }
});
