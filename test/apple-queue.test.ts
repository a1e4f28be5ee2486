// The command queue and its upkeep, in process against a real SQLite store with a fake clock.
import assert from 'node:assert/strict';
import { before, after, test } from 'node:test';
import { buildCommand } from '../src/apple/commands/build.ts';
import { inventoryCommands } from '../src/apple/inventory-commands.ts';
import { createAppleMaintenance } from '../src/apple/maintenance.ts';
import { createCommandQueue } from '../src/apple/queue.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { compose, type Appliance } from '../src/main.ts';
import { tempDir } from './support/server.ts';

let app: Appliance;
let clock = Date.UTC(2026, 10, 23);
const now = () => clock;
const log = createLogger('silent');

function enroll(id: string, inventoryAt: number | null = null) {
  app.appleRepo.upsertEnrollment({ id, type: 'device', deviceId: id, status: 'enrolled', certSha256: id, createdAt: clock });
  app.appleRepo.upsertDevice({ id, udid: id, createdAt: clock, updatedAt: clock, inventoryUpdatedAt: inventoryAt });
}

before(() => {
  app = compose(loadConfig({ MDM_DATA_DIR: tempDir(), MDM_HTTP_PORT: '0' }), log);
});
after(() => app.store.close());

test('next command: highest priority first, then oldest; NotNow skipped until Idle; answers are final', () => {
  const queue = createCommandQueue({ repo: app.appleRepo, log, now });
  enroll('Q1');
  const low = queue.enqueue(buildCommand('ProfileList'), ['Q1']);
  clock += 1000;
  const high = queue.enqueue(buildCommand('SecurityInfo'), ['Q1'], { priority: 5 });
  clock += 1000;
  const later = queue.enqueue(buildCommand('CertificateList'), ['Q1']);
  assert.equal(queue.next('Q1', true)?.uuid, high);
  queue.record('Q1', { Status: 'NotNow', CommandUUID: high }, Buffer.from('x'));
  assert.equal(queue.next('Q1', false)?.uuid, low, 'NotNow skipped within the connection');
  assert.equal(queue.next('Q1', true)?.uuid, high, 'offered again after Idle');
  queue.record('Q1', { Status: 'Acknowledged', CommandUUID: high }, Buffer.from('x'));
  queue.record('Q1', { Status: 'Error', CommandUUID: low }, Buffer.from('x'));
  assert.equal(queue.record('Q1', { Status: 'Acknowledged', CommandUUID: low }, Buffer.from('x')), undefined, 'final');
  assert.equal(queue.next('Q1', true)?.uuid, later);
  assert.equal(queue.cancel(later), 1);
  assert.equal(queue.next('Q1', true), undefined);
  assert.throws(() => queue.cancel('nope'), /no command/);
});

test('bulk enqueue in one transaction; duplicate pending DeviceLock/EraseDevice refused with nothing queued', () => {
  const queue = createCommandQueue({ repo: app.appleRepo, log, now });
  for (const id of ['B1', 'B2', 'B3']) enroll(id);
  const uuid = queue.enqueue(buildCommand('DeviceLock', { Message: 'Lost' }), ['B1', 'B2', 'B2']);
  assert.equal(app.appleRepo.targets(uuid).length, 2);
  assert.throws(() => queue.enqueue(buildCommand('DeviceLock'), ['B3', 'B2']), (e: { code?: string }) => e.code === 'duplicate_pending_command');
  assert.equal(queue.next('B3', true), undefined, 'the refused command queued for no one');
  queue.record('B2', { Status: 'Acknowledged', CommandUUID: uuid }, Buffer.from('x'));
  queue.enqueue(buildCommand('DeviceLock'), ['B2']);
  assert.throws(() => queue.enqueue(buildCommand('ProfileList'), []), (e: { code?: string }) => e.code === 'no_targets');
});

test('commands expire after their TTL', () => {
  const queue = createCommandQueue({ repo: app.appleRepo, log, now, defaultTtlMs: 60_000 });
  enroll('T1');
  const uuid = queue.enqueue(buildCommand('ProfileList'), ['T1']);
  clock += 61_000;
  const other = queue.enqueue(buildCommand('CertificateList'), ['T1'], { ttlMs: 10 * 60_000 });
  assert.equal(queue.next('T1', true)?.uuid, other, 'an expired command is never sent: the next one is');
  assert.equal(app.appleRepo.targets(uuid)[0]!.status, 'expired', 'marked expired on the way');
  enroll('T2');
  const swept = queue.enqueue(buildCommand('ProfileList'), ['T2']);
  clock += 61_000;
  assert.ok(queue.expire() >= 1, 'maintenance sweeps the ones no device asked for');
  assert.equal(app.appleRepo.targets(swept)[0]!.status, 'expired');
});

test('maintenance refreshes stale inventories once, with one command per kind for all due devices', async () => {
  const queue = createCommandQueue({ repo: app.appleRepo, log, now });
  const day = 86_400_000;
  enroll('M1', clock - 2 * day);
  enroll('M2', null);
  enroll('M3', clock - 1000);
  const m = createAppleMaintenance({ repo: app.appleRepo, queue, log, inventoryIntervalMs: day, inventoryCommands, now });
  const first = await m.run();
  assert.ok(first.refreshed >= 2);
  const next = queue.next('M1', true);
  assert.equal(next?.requestType, 'DeviceInformation');
  assert.equal(queue.next('M3', true), undefined, 'fresh inventory left alone');
  assert.equal((await m.run()).refreshed, 0, 'not queued twice while pending');
});

test('a partial DeviceInformation answer merges into what is known', async () => {
  const { applyInventory } = await import('../src/apple/inventory.ts');
  enroll('I1');
  applyInventory(app.appleRepo, 'I1', 'DeviceInformation', { QueryResponses: { IsSupervised: true, OSVersion: '17.1', ProductName: 'iPad13,1' } }, clock);
  applyInventory(app.appleRepo, 'I1', 'DeviceInformation', { QueryResponses: { BatteryLevel: 0.5 } }, clock);
  const d = app.appleRepo.device('I1')!;
  assert.deepEqual(d.deviceInformation, { IsSupervised: true, OSVersion: '17.1', ProductName: 'iPad13,1', BatteryLevel: 0.5 });
  assert.equal(d.osVersion, '17.1', 'columns keep their values when a query is not asked');
  assert.equal(d.platform, 'ipados');
});
