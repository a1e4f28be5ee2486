// A cookie-keeping client for the web console over plain fetch: signs in, reads the CSRF token
// from the page, and posts forms with or without it.
import assert from 'node:assert/strict';

export class ConsoleClient {
  cookie: string | null = null;
  csrf: string | null = null;

  constructor(readonly url: string) {}

  async request(method: string, path: string, o: { form?: Record<string, string>; headers?: Record<string, string> } = {}) {
    const res = await fetch(this.url + path, {
      method,
      redirect: 'manual',
      headers: {
        accept: 'text/html',
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(o.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...o.headers,
      },
      body: o.form ? new URLSearchParams(o.form).toString() : undefined,
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request('GET', path, { headers });
  }

  /** Posts a form; `csrf: true` adds this session's token as the hidden field does. */
  post(path: string, form: Record<string, string> = {}, o: { csrf?: boolean; headers?: Record<string, string> } = {}) {
    return this.request('POST', path, { form: o.csrf && this.csrf ? { ...form, _csrf: this.csrf } : form, headers: o.headers });
  }

  /** Posts a multipart form (file uploads): `files` as name → [file name, content]; `csrf: true` adds the token. */
  async upload(path: string, fields: Record<string, string>, files: Record<string, [string, string | Buffer]> = {}, o: { csrf?: boolean } = {}) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    for (const [k, [name, content]] of Object.entries(files)) form.append(k, new Blob([content]), name);
    if (o.csrf && this.csrf) form.append('_csrf', this.csrf);
    const res = await fetch(this.url + path, { method: 'POST', redirect: 'manual', headers: { accept: 'text/html', ...(this.cookie ? { cookie: this.cookie } : {}) }, body: form });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  async login(username: string, password: string, headers: Record<string, string> = {}) {
    const r = await this.post('/login', { username, password, next: '/' }, { headers });
    await this.adopt(r);
    return r;
  }

  /**
   * Signs in with two-factor: the password, then `code` with the challenge the code form carries.
   * Returns both answers; the second is null when the password step did not ask for a code.
   */
  async loginWithCode(username: string, password: string, code: string, headers: Record<string, string> = {}) {
    const first = await this.post('/login', { username, password, next: '/' }, { headers });
    const challenge = /name="challenge" value="([^"]+)"/.exec(first.text)?.[1];
    if (first.status !== 200 || !challenge) return { first, second: null, challenge: null };
    const second = await this.post('/login/two-factor', { challenge, code, next: '/' }, { headers });
    await this.adopt(second);
    return { first, second, challenge };
  }

  /** A 303 with a session cookie: keep the cookie and read the CSRF token from the next page. */
  private async adopt(r: { status: number; headers: Headers }) {
    const set = r.headers.get('set-cookie');
    if (r.status === 303 && set) {
      this.cookie = set.split(';')[0]!;
      const page = await this.get('/');
      assert.equal(page.status, 200);
      this.csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? null;
      assert.ok(this.csrf, 'the page carries a CSRF token');
    }
  }
}

export const CONSOLE_PASSWORD = 'correct horse battery staple 42';

/** An admin made with the CLI (`mdm admin create`) and signed in to the console. */
export async function signedIn(
  server: { url: string; cli(args: string[], env?: Record<string, string>, input?: string): { stderr: string; status: number | null } },
  username: string,
  role: 'admin' | 'read-only',
): Promise<ConsoleClient> {
  const made = server.cli(['admin', 'create', '--username', username, '--password-stdin', '--role', role], {}, CONSOLE_PASSWORD + '\n');
  assert.equal(made.status, 0, made.stderr);
  const client = new ConsoleClient(server.url);
  assert.equal((await client.login(username, CONSOLE_PASSWORD)).status, 303);
  return client;
}
