// The precedence rule and the diff, without a database.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diff } from './diff.ts';
import { pickEffective, type Candidate } from './precedence.ts';
import type { AssignmentRow } from './repo.ts';

const candidate = (policyName: string, target: AssignmentRow['target'], value: string | null, priority = 0): Candidate => ({
  assignment: { id: `a-${policyName}`, policyId: `p-${policyName}`, target, value: target === 'group' ? null : value, groupId: target === 'group' ? value : null, priority, createdAt: 0 },
  policyName,
  currentVersion: 1,
});

test('group beats platform beats ownership beats all; priority, then name, within a kind', () => {
  const device = { id: 'd1', platform: 'ios', ownership: 'corporate' as const };
  const all = [candidate('all', 'all', null), candidate('corp', 'ownership', 'corporate'), candidate('ios', 'platform', 'ios'), candidate('vip', 'group', 'g1')];
  const pick = (cs: Candidate[], groups: string[] = []) => pickEffective(cs, device, new Set(groups))?.policyName;
  assert.equal(pick(all, ['g1']), 'vip');
  assert.equal(pick(all), 'ios');
  assert.equal(pick(all.slice(0, 2)), 'corp');
  assert.equal(pick(all.slice(0, 1)), 'all');
  assert.equal(pick([candidate('android', 'platform', 'android'), candidate('byod', 'ownership', 'personal')]), undefined);
  assert.equal(pick([candidate('b', 'platform', 'ios'), candidate('a', 'platform', 'ios')]), 'a');
  assert.equal(pick([candidate('a', 'platform', 'ios'), candidate('b', 'platform', 'ios', 1)]), 'b');
  // A device whose ownership is unknown matches no ownership assignment.
  assert.equal(pickEffective([candidate('corp', 'ownership', 'corporate')], { ...device, ownership: null }, new Set()), undefined);
});

test('the diff names each changed leaf and ignores per-version UUIDs', () => {
  const before = { PayloadUUID: 'A', PayloadContent: [{ minLength: 4, forcePIN: true }], list: ['a'] };
  const after = { PayloadUUID: 'B', PayloadContent: [{ minLength: 6, forcePIN: true }, { allowCamera: false }], list: ['a', 'b'] };
  assert.deepEqual(diff(before, after), [
    { path: 'PayloadContent[0].minLength', op: 'changed', before: 4, after: 6 },
    { path: 'PayloadContent[1]', op: 'added', after: { allowCamera: false } },
    { path: 'list', op: 'changed', before: ['a'], after: ['a', 'b'] },
  ]);
  assert.deepEqual(diff({ a: 1 }, {}), [{ path: 'a', op: 'removed', before: 1 }]);
});
