// The timeline's cap and paging on a real SQLite file with the appliance's migrations.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openStore } from '../store/db.ts';
import { TIMELINE_CAP, createComplianceRepo } from './repo.ts';

test('the timeline keeps the newest entries up to its cap, per device, and pages newest first', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-compliance-repo-'));
  const store = openStore(dir);
  try {
    const repo = createComplianceRepo(store.db);
    const add = (deviceId: string, i: number) =>
      repo.addEvent({ deviceId, state: i % 2 ? 'noncompliant' : 'compliant', previousState: null, failingRules: [], policyId: null, policyVersion: null, at: i });
    for (let i = 0; i < TIMELINE_CAP + 15; i++) add('flapping', i);
    for (let i = 0; i < 3; i++) add('quiet', i);
    const all = repo.timeline('flapping', { limit: 1000 });
    assert.equal(all.length, TIMELINE_CAP);
    assert.equal(all[0]!.at, TIMELINE_CAP + 14);
    assert.equal(all.at(-1)!.at, 15);
    assert.equal(repo.timeline('quiet', { limit: 1000 }).length, 3);
    const first = repo.timeline('flapping', { limit: 2 });
    const second = repo.timeline('flapping', { limit: 2, before: first[1]!.id });
    assert.deepEqual([...first, ...second].map((e) => e.at), [TIMELINE_CAP + 14, TIMELINE_CAP + 13, TIMELINE_CAP + 12, TIMELINE_CAP + 11]);
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
