import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FakeAmapi } from './fake-amapi.ts';
import { PUBLIC_URL, tempDir, type jsonApi, type TestServer } from './server.ts';

/**
 * Binds an Android enterprise the way an admin does: the service-account key through the CLI,
 * the signup URL, Google's page, and its redirect back to the appliance. Returns the enterprise's name.
 */
export async function bindEnterprise(server: TestServer, api: ReturnType<typeof jsonApi>, fake: FakeAmapi): Promise<string> {
  const keyFile = path.join(tempDir('mdm-android-key-'), 'key.json');
  fs.writeFileSync(keyFile, fake.serviceAccountKey().json);
  const imported = server.cli(['android', 'key', 'import', '--file', keyFile]);
  assert.equal(imported.status, 0, imported.stderr);
  const signup = await api('POST', '/android/signup');
  assert.equal(signup.status, 201, JSON.stringify(signup.json));
  const page = await fetch(signup.json.url, { redirect: 'manual' });
  const bound = await fetch(page.headers.get('location')!.replace(PUBLIC_URL, server.url));
  assert.equal(bound.status, 201, await bound.text());
  const e = await api('GET', '/android/enterprise');
  assert.equal(e.status, 200, JSON.stringify(e.json));
  return e.json.name as string;
}
