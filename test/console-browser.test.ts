// The console end to end in real Chromium (Debian's `chromium`, driven by playwright-core):
// first admin through the logged setup URL, sign-out and sign-in, a simulated iPhone enrolled,
// found by searching as you type, locked from its page, the lock pending, acknowledged by the
// device and shown so after a reload; a read-only admin sees no actions and is refused if it
// posts anyway; at phone width, a policy made, assigned and edited through its preview, its
// compiled profile, groups and apps, none scrolling sideways. Screenshots go to a temp folder named in the output.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AppleDevice, answerFor, enrolledDevice, type Dict } from './support/apple-device.ts';
import { peer } from './support/peers.ts';
import { startServer, tempDir, type TestServer } from './support/server.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const CHALLENGE = 'console-browser-challenge';
const PASSWORD = 'browser test password';

const chromiumPeer = peer('chromium', ['--version']);

describe('web console in Chromium', { skip: chromiumPeer.ok ? false : chromiumPeer.reason }, () => {
  let server: TestServer;
  let browser: Browser;
  const shots = tempDir('mdm-console-screenshots-');
  const errors: string[] = [];
  const devices: AppleDevice[] = [];

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const watch = (page: Page) => {
    // CSP refusals and script errors show up here: the console must run clean under its own policy.
    // Refused pages (a wrong password's 400, the 403 below) are the test's own doing: documents are not counted.
    page.on('console', (m) => (m.type() === 'error' && !m.text().startsWith('Failed to load resource') ? errors.push(m.text()) : undefined));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => (r.request().resourceType() !== 'document' && r.status() >= 400 ? errors.push(`${r.status()} ${r.url()}`) : undefined));
    return page;
  };

  /** The page is no wider than the window: nothing scrolls sideways but boxes made to. */
  const fitsWidth = (page: Page) =>
    page.evaluate(() => {
      const g = globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number };
      return g.document.documentElement.scrollWidth <= g.innerWidth;
    });
  const signIn = async (page: Page) => {
    await page.goto(`${server.url}/login`);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/`);
  };

  async function enroll(): Promise<AppleDevice> {
    const d = new AppleDevice(server.url);
    await d.scepEnroll(CHALLENGE);
    assert.equal((await d.authenticate()).status, 200);
    assert.equal((await d.tokenUpdate()).status, 200);
    let r = await d.report('Idle');
    while (r.plist) r = await d.report('Acknowledged', answerFor(d, r.plist));
    return d;
  }

  before(async () => {
    process.stdout.write(`# console screenshots: ${shots}\n`);
    server = await startServer({ env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0' } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    process.stdout.write(`# console screenshots: ${shots}\n`);
  });

  test('setup, sign-in, search, lock, acknowledged; read-only admin without actions', async (t) => {
    t.diagnostic(`screenshots in ${shots}`);
    const logged = await server.waitForLog((l) => typeof l.setupUrl === 'string');
    // The log names the public URL; the test server listens elsewhere.
    const setupUrl = new URL(logged.setupUrl as string);
    const page = watch(await (await browser.newContext()).newPage());

    await page.goto(`${server.url}${setupUrl.pathname}${setupUrl.search}`);
    await shot(page, '01-setup');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password (at least 12 characters)').fill(PASSWORD);
    await page.getByLabel('Password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await page.waitForURL(`${server.url}/`);
    assert.equal(await page.getByTestId('who').textContent(), 'alice');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login$/);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wrong password here');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong username or password.').waitFor();
    await shot(page, '02-login-failed');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/`);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Enrollment' }).click();
    await page.getByLabel("User's email (optional)").fill('jane@example.com');
    await page.getByLabel('Ownership').selectOption('personal');
    await page.getByRole('button', { name: 'Create link' }).click();
    assert.match((await page.getByLabel('Enrollment link').inputValue()), /^http:\/\/127\.0\.0\.1:8080\/enroll\/[A-Za-z0-9_-]{32}$/);
    await shot(page, '03-enrollment-link');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Certificate authority' }).waitFor();

    devices.push(await enroll(), await enroll());
    const [phone, other] = devices as [AppleDevice, AppleDevice];
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    assert.equal(await page.getByTestId('enrolled-total').textContent(), '2');
    await shot(page, '03-dashboard-2-devices');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Devices' }).click();
    await page.waitForURL(/\/devices$/);
    await page.getByText(other.serial).waitFor();
    // Searching as you type: htmx swaps the results in place (the page is not reloaded) and puts the search in the URL.
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    await page.getByLabel('Search').pressSequentially(phone.serial.slice(0, 8).toLowerCase(), { delay: 20 });
    await page.getByText(other.serial).waitFor({ state: 'detached' });
    await page.locator('#results').getByText(phone.serial).waitFor();
    assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, 'no full page load');
    await page.waitForURL(new RegExp(`q=${phone.serial.slice(0, 8).toLowerCase()}`));
    await shot(page, '04-search');

    await page.locator('#results').getByRole('link', { name: 'Test iPhone' }).click();
    await page.waitForURL(new RegExp(`/devices/${encodeURIComponent(phone.udid)}$`));
    await page.getByLabel('Message on the lock screen (optional)').fill('Lost: please call IT');
    await page.getByLabel('Phone number on the lock screen (optional)').fill('+1 555 0100');
    await page.getByRole('button', { name: 'Lock' }).click();
    await page.getByText('Lock queued.').waitFor();
    const lockStatus = page.locator('tr[data-request-type="DeviceLock"] .status');
    assert.equal(await lockStatus.textContent(), 'pending');
    await shot(page, '05-lock-pending');

    const r = await phone.report('Idle');
    const cmd = r.plist as Dict;
    assert.equal((cmd.Command as Dict).RequestType, 'DeviceLock');
    assert.deepEqual([(cmd.Command as Dict).Message, (cmd.Command as Dict).PhoneNumber], ['Lost: please call IT', '+1 555 0100']);
    assert.equal((await phone.report('Acknowledged', answerFor(phone, cmd))).status, 200);
    await page.reload();
    assert.equal(await lockStatus.textContent(), 'acknowledged');
    await shot(page, '06-lock-acknowledged');

    // At phone width the page does not scroll sideways: wide tables scroll inside their own box.
    await page.setViewportSize({ width: 375, height: 800 });
    assert.ok(await fitsWidth(page), 'no horizontal page scroll at 375 px');
    await shot(page, '07-device-phone-width');

    const created = server.cli(['admin', 'create', '--username', 'viewer', '--password-stdin', '--role', 'read-only'], {}, PASSWORD);
    assert.equal(created.status, 0, created.stderr);
    const viewerContext = await browser.newContext();
    const viewer = watch(await viewerContext.newPage());
    await viewer.goto(`${server.url}/devices/${encodeURIComponent(phone.udid)}`);
    await viewer.waitForURL(/\/login\?next=/);
    await viewer.getByLabel('Username').fill('viewer');
    await viewer.getByLabel('Password').fill(PASSWORD);
    await viewer.getByRole('button', { name: 'Sign in' }).click();
    await viewer.waitForURL(new RegExp(`/devices/${encodeURIComponent(phone.udid)}$`), { waitUntil: 'load' });
    await viewer.getByRole('heading', { name: 'Command history' }).waitFor();
    assert.equal(await viewer.getByRole('button', { name: 'Lock' }).count(), 0);
    assert.equal(await viewer.getByRole('button', { name: 'Refresh inventory' }).count(), 0);
    await shot(viewer, '08-read-only');
    const csrf = JSON.parse((await viewer.locator('body').getAttribute('hx-headers'))!)['X-CSRF-Token'] as string;
    const forged = await viewerContext.request.post(`${server.url}/devices/${encodeURIComponent(phone.udid)}/lock`, { form: { _csrf: csrf, message: 'nope' }, maxRedirects: 0 });
    assert.equal(forged.status(), 403);
    await viewer.reload();
    assert.equal(await viewer.locator('tr[data-request-type="DeviceLock"]').count(), 1, 'no second lock');

    assert.deepEqual(errors, [], 'no script or CSP errors in the console');
  });
  test('wipe with the device name typed back: a wrong name refused in the page, then EraseDevice pending, acknowledged and in the audit log', async () => {
    const page = watch(await (await browser.newContext()).newPage());
    await signIn(page);
    const phone = await enrolledDevice(server.url, CHALLENGE);
    await page.goto(`${server.url}/devices/${encodeURIComponent(phone.udid)}`);
    await page.getByText('A company device: everything on it is erased').waitFor();
    const confirm = page.getByLabel("Type the device's name");
    await confirm.fill('Test iPhon');
    await page.getByRole('button', { name: 'Erase this device' }).click();
    await page.getByText("Type the device's name, Test iPhone, exactly to confirm the wipe.").waitFor();
    assert.equal(await page.locator('tr[data-request-type="EraseDevice"]').count(), 0, 'nothing queued');
    await shot(page, '09-wipe-refused');
    await page.getByLabel("Type the device's name").fill('Test iPhone');
    await page.getByRole('button', { name: 'Erase this device' }).click();
    await page.getByText('Erase queued.').waitFor();
    const status = page.locator('tr[data-request-type="EraseDevice"] .status');
    assert.equal(await status.textContent(), 'pending');
    await shot(page, '10-wipe-pending');

    const r = await phone.report('Idle');
    assert.equal(((r.plist as Dict).Command as Dict).RequestType, 'EraseDevice');
    assert.equal((await phone.report('Acknowledged', answerFor(phone, r.plist as Dict))).status, 200);
    assert.ok(phone.erased);
    await page.reload();
    assert.equal(await status.textContent(), 'acknowledged');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Action (or its start, such as device)').fill('device.wipe');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=device\.wipe/);
    const row = page.locator('tr[data-action="device.wipe"]');
    assert.equal(await row.count(), 1);
    assert.match((await row.textContent())!, /alice/);
    await shot(page, '11-audit-wipe');
    assert.deepEqual(errors, [], 'no script or CSP errors in the console');
  });

  test('every page at phone width (375 px): no sideways scroll, each screenshotted', async () => {
    const page = watch(await (await browser.newContext({ viewport: { width: 375, height: 800 } })).newPage());
    await signIn(page);
    const device = devices[0]!;
    const pages: Array<[name: string, path: string]> = [
      ['dashboard', '/'],
      ['devices', '/devices'],
      ['devices-sorted', '/devices?sort=last_seen&dir=desc'],
      ['device', `/devices/${encodeURIComponent(device.udid)}`],
      ['enrollment', '/enrollment'],
      ['android', '/android'],
      ['settings', '/settings'],
      ['audit', '/audit'],
      ['policies', '/policies'],
      ['new-policy', '/policies/new'],
      ['groups', '/groups'],
      ['apps', '/apps'],
    ];
    const wide: string[] = [];
    for (const [name, at] of pages) {
      const r = await page.goto(`${server.url}${at}`);
      assert.equal(r?.status(), 200, `${at}: ${r?.status()}`);
      if (!(await fitsWidth(page))) wide.push(at);
      await shot(page, `12-phone-${name}`);
    }
    assert.deepEqual(wide, [], 'pages wider than a phone');
    assert.deepEqual(errors, [], 'no script or CSP errors in the console');
  });

  test('at phone width: a policy made, assigned, edited through its preview and saved; compiled profile, groups and apps pages without sideways scrolling', async () => {
    const page = watch(await (await browser.newContext({ viewport: { width: 375, height: 800 } })).newPage());
    // On failure, the elements wider than the viewport, so the culprit is named.
    const noSideScroll = async (what: string) => {
      const r = await page.evaluate(() => {
        type El = { tagName: string; className: string; scrollWidth: number };
        const g = globalThis as unknown as { innerWidth: number; document: { documentElement: El; querySelectorAll(s: string): Iterable<El> } };
        const wide = [...g.document.querySelectorAll('main *')].filter((e) => e.scrollWidth > g.innerWidth).map((e) => `${e.tagName.toLowerCase()}.${e.className} ${e.scrollWidth}px`);
        return { fits: g.document.documentElement.scrollWidth <= g.innerWidth, wide };
      });
      assert.ok(r.fits, `no horizontal page scroll at 375 px: ${what}; too wide: ${r.wide.join(', ')}`);
    };
    await signIn(page);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policies' }).click();
    await page.getByRole('link', { name: 'New policy' }).click();
    await noSideScroll('new policy form');
    await page.getByLabel('Name', { exact: true }).fill('Phones');
    await page.getByLabel('Apply passcode rules').check();
    await page.getByLabel('Minimum length (1–16, empty: no minimum)').fill('6');
    await page.getByLabel('Blocked apps').fill('com.example.game');
    await page.getByRole('button', { name: 'Create policy' }).click();
    await page.getByText('Policy created.').waitFor();
    await page.getByLabel('To', { exact: true }).selectOption('platform:ios');
    await page.getByRole('button', { name: 'Assign', exact: true }).click();
    await page.getByText('Assigned:').waitFor();
    await noSideScroll('policy page');
    await shot(page, '13-policy-phone-width');

    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('Minimum length (1–16, empty: no minimum)').fill('8');
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await page.getByRole('button', { name: 'Save as version 2' }).waitFor();
    for (const d of await page.locator('details summary').all()) await d.click();
    assert.match((await page.getByTestId('changes').first().textContent())!, /minLength/);
    await noSideScroll('preview with the compiled output open');
    await shot(page, '14-policy-preview');
    await page.getByRole('button', { name: 'Save as version 2' }).click();
    await page.getByText('New version saved').waitFor();
    assert.match((await page.getByTestId('versions').textContent())!, /admin:alice/);

    await page.getByRole('link', { name: 'company' }).first().click();
    assert.match((await page.getByTestId('compiled-output').textContent())!, /^<\?xml/);
    await noSideScroll('compiled profile XML');
    await shot(page, '15-compiled-xml');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Groups' }).click();
    await page.getByLabel('Name').fill('Field staff');
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.getByText('Group created.').waitFor();
    await noSideScroll('group page');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Apps' }).click();
    await page.locator('#enterprise-name').fill('Field tool');
    await page.locator('#enterprise-bundle').fill('com.example.fieldtool');
    await page.locator('#enterprise-manifest').fill('https://apps.example.com/a/very/long/path/to/the/field/tool/manifest/that/goes/on/and/on.plist');
    await page.getByTestId('add-enterprise').getByRole('button', { name: 'Add app' }).click();
    await page.getByText('App added to the catalog').waitFor();
    await noSideScroll('apps page');
    await shot(page, '16-apps-phone-width');
    assert.deepEqual(errors, [], 'no script or CSP errors in the console');
  });
});
