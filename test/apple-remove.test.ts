// Removing a device from management over the API: its queue cancelled, every later message from
// it answered with Apple's ErrorUnrecognizedDevice (403, JSON) so it unenrolls, commands to it
// refused, its CheckOut accepted; and a new enrollment profile brings it back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppleDevice, answerFor } from './support/apple-device.ts';
import { jsonApi, startServer, type TestServer } from './support/server.ts';

const CHALLENGE = 'remove-test-challenge';

describe('removing an Apple device from management', () => {
  let server: TestServer;
  let token: string;

  const api = (method: string, p: string, body?: unknown) => jsonApi(server, token)(method, p, body);

  async function enroll(d: AppleDevice) {
    await d.scepEnroll(CHALLENGE);
    assert.equal((await d.authenticate()).status, 200);
    assert.equal((await d.tokenUpdate()).status, 200);
    let r = await d.report('Idle');
    while (r.plist) r = await d.report('Acknowledged', answerFor(d, r.plist));
    assert.equal(r.status, 200);
  }

  const assertUnrecognized = (r: { status: number; type: string; body: Buffer }, what: string) => {
    assert.equal(r.status, 403, what);
    assert.match(r.type, /^application\/json/, what);
    assert.equal(JSON.parse(r.body.toString('utf8')).code, 'com.apple.unrecognized.device', what);
  };

  before(async () => {
    server = await startServer({ env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0' } });
    const created = server.cli(['api-token', 'create', '--name', 'tests']);
    assert.equal(created.status, 0, created.stderr);
    token = created.stdout.trim();
  });
  after(async () => {
    await server.stop();
  });

  test('removed: queue cancelled, the device told to unenroll, commands refused, re-enrollment through a new identity', async () => {
    const d = new AppleDevice(server.url);
    const bystander = new AppleDevice(server.url);
    await enroll(d);
    await enroll(bystander);

    const queued = await api('POST', `/devices/${d.udid}/commands`, { request_type: 'ProfileList' });
    assert.equal(queued.status, 201, JSON.stringify(queued.json));
    const uuid = queued.json.command_uuid as string;

    const removed = await api('DELETE', `/devices/${d.udid}`);
    assert.equal(removed.status, 200, JSON.stringify(removed.json));
    assert.deepEqual(removed.json, { id: d.udid, status: 'removed', enrollments: 1, cancelled_commands: 1 });
    assert.equal((await api('GET', `/devices/${d.udid}`)).json.enrollment_status, 'removed', 'the record stays, marked removed');
    assert.equal((await api('GET', `/commands/${uuid}`)).json.targets[0].status, 'cancelled');

    // Whatever it sends next, the device hears that it is not recognized.
    assertUnrecognized(await d.report('Idle'), 'Idle');
    assertUnrecognized(await d.report('Acknowledged', { CommandUUID: uuid }), 'a report');
    assertUnrecognized(await d.tokenUpdate(), 'TokenUpdate');
    assertUnrecognized(await d.authenticate(), 'Authenticate with the removed identity');
    assert.equal((await api('GET', `/devices/${d.udid}`)).json.enrollment_status, 'removed', 'none of that re-enrolled it');

    const refused = await api('POST', `/devices/${d.udid}/commands`, { request_type: 'ProfileList' });
    assert.equal(refused.status, 409, JSON.stringify(refused.json));
    assert.equal(refused.json.error.code, 'enrollment_not_enrolled');

    // Unenrolled, it checks out: accepted quietly.
    assert.equal((await d.checkin('CheckOut')).status, 200);
    assert.equal((await api('DELETE', `/devices/${d.udid}`)).json.enrollments, 1, 'removing again changes nothing');
    assert.equal((await api('DELETE', '/devices/no-such-device')).json.error.code, 'device_not_found');

    // The other device is untouched.
    assert.equal((await bystander.report('Idle')).status, 200);
    assert.equal((await api('GET', `/devices/${bystander.udid}`)).json.enrollment_status, 'enrolled');

    // Back through a new profile: a new SCEP identity, Authenticate, TokenUpdate, inventory again.
    await enroll(d);
    const back = (await api('GET', `/devices/${d.udid}`)).json;
    assert.equal(back.enrollment_status, 'enrolled');
    assert.ok(back.inventory.device_information, 'inventory queued and answered again');
  });
});
