// The vendored htmx is the npm package's own file, byte for byte, at the version its name says,
// with its licence beside it: a CDN is never needed and an upgrade cannot half-happen.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);

test('vendored htmx equals htmx.org dist/htmx.min.js of the pinned devDependency', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const version = pkg.devDependencies['htmx.org']!;
  assert.match(version, /^2\.\d+\.\d+$/, 'htmx 2, pinned exactly');
  const vendored = fs.readFileSync(path.join(root, `src/console/assets/htmx-${version}.min.js`));
  const dist = fs.readFileSync(path.join(path.dirname(require.resolve('htmx.org/package.json')), 'dist/htmx.min.js'));
  assert.ok(vendored.equals(dist));
  assert.match(fs.readFileSync(path.join(root, 'src/console/assets/htmx-LICENSE.txt'), 'utf8'), /Zero-Clause BSD/);
  assert.match(fs.readFileSync(path.join(root, 'src/console/assets.ts'), 'utf8'), new RegExp(`htmx-${version.replace(/\./g, '\\.')}\\.min\\.js`), 'served from the same file');
});
