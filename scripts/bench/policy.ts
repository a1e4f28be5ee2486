// A policy change across a fleet: N Apple devices (enrolled channels with their device rows, as
// check-ins leave them) and N Android devices (reconciled from the fake Android Management API in
// a child process, as strict as the discovery document) in a fresh data dir, one policy assigned
// to all of them. Timed, as the API does it (the service's change, then enforce('all')): the
// first assignment, changes of the policy (compile per platform and ownership, diff against what
// each device has, queue one InstallProfile per bucket, patch Google's policy once per bucket),
// its preview, and the unassignment.
//
// Reference, on the same data: reading every device's effective policy (policies.targets('all'))
// and nothing more, the floor of any enforcement pass; the ratios show what the rest costs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { compose } from '../../src/main.ts';
import { PolicyDocument } from '../../src/policy/model.ts';
import { applianceWithAmapi, closeAppliance, type BenchAmapi } from './amapi-fake.ts';
import { benchMain, createEnrollments, logger, machine, numberOption, parseOptions, procCpuMs, table } from './lib.ts';

const TARGET_S = 5;

export const usage = `usage: npm run bench -- policy [options]

  --devices N   Apple devices, and as many Android devices (default 10000)
  --changes N   policy changes timed (default 3)
  --keep        keep the temporary data dir (printed)

Target: a change of a policy assigned to ${(10_000).toLocaleString('en')} Apple and ${(10_000).toLocaleString('en')} Android devices compiled, diffed and queued in <= ${TARGET_S} s.
`;

export const main = benchMain(usage, bench);
const log = logger('policy');

interface Phase {
  name: string;
  seconds: number;
  cpuMs: number | null;
  did: string;
}

async function timed(name: string, fn: () => Promise<string>): Promise<Phase> {
  const cpu0 = procCpuMs(process.pid);
  const t = performance.now();
  const did = await fn();
  const seconds = (performance.now() - t) / 1000;
  const cpu1 = procCpuMs(process.pid);
  log(`${name}: ${seconds.toFixed(2)} s (${did})`);
  return { name, seconds, cpuMs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null, did };
}

/** Apple devices as enrollment leaves them: mostly iPhones, some iPads and Macs, one in five personal. */
function seedApple(app: ReturnType<typeof compose>, n: number): void {
  const ids = createEnrollments(app, n);
  const db = app.store.sqlite;
  const t = Date.now();
  const device = db.prepare(
    `INSERT INTO apple_devices (id, udid, serial_number, device_name, model, product_name, os_version, platform, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '17.5.1', ?, ?, ?)`,
  );
  const personal = db.prepare(`UPDATE apple_enrollments SET ownership = 'personal' WHERE id = ?`);
  db.transaction(() => {
    ids.forEach((id, i) => {
      const [platform, product] = i % 10 === 8 ? ['ipados', 'iPad14,5'] : i % 10 === 9 ? ['macos', 'Mac15,3'] : ['ios', 'iPhone16,2'];
      device.run(id, id, crypto.createHash('sha1').update(id).digest('hex').slice(0, 12).toUpperCase(), `Device ${i}`, product, product, platform, t, t);
      if (i % 5 === 4) personal.run(id);
    });
  })();
}

const DOCUMENTS: PolicyDocument[] = [
  { passcode: { required: true, min_length: 6, complexity: 'numeric' }, auto_lock: { max_inactivity_minutes: 5 }, camera_disabled: false },
  { passcode: { required: true, min_length: 8, complexity: 'alphanumeric', max_failed_attempts: 10 }, auto_lock: { max_inactivity_minutes: 5 }, screen_capture_disabled: true },
  { passcode: { required: true, min_length: 10, complexity: 'alphanumeric', max_age_days: 90 }, auto_lock: { max_inactivity_minutes: 2 }, camera_disabled: true },
].map((d) => PolicyDocument.parse(d));

async function bench(argv: string[]): Promise<void> {
  const values = parseOptions(argv, { devices: { type: 'string', default: '10000' }, changes: { type: 'string', default: '3' } });
  const n = numberOption('devices', values.devices, 1);
  const changes = numberOption('changes', values.changes, 1);
  log(`${n.toLocaleString('en')} Apple and ${n.toLocaleString('en')} Android devices, one policy on all of them; ${machine()}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-bench-policy-'));
  const phases: Phase[] = [];
  let app: ReturnType<typeof compose> | undefined;
  let fake: BenchAmapi | undefined;
  try {
    ({ app, fake } = await applianceWithAmapi(dir, n));
    const synced = await app.androidSync.reconcile();
    seedApple(app, n);
    log(`seeded: ${n.toLocaleString('en')} Apple devices, ${synced.devices.toLocaleString('en')} Android devices`);

    const policies = app.policies;
    const count = (r: Record<string, Record<string, number>>) =>
      Object.entries(r)
        .flatMap(([who, c]) => Object.entries(c).filter(([, v]) => v > 0).map(([k, v]) => `${who} ${k} ${v.toLocaleString('en')}`))
        .join(', ');

    phases.push(await timed('reference: every device\'s effective policy read', async () => `${policies.targets('all').length.toLocaleString('en')} targets`));
    const policy = policies.create({ name: 'Fleet baseline', description: null, document: DOCUMENTS[0]!, createdBy: 'bench' });
    let assignment = '';
    phases.push(
      await timed('first assignment (to all)', async () => {
        assignment = policies.assign(policy.id, { target: 'all', priority: 0 }).id;
        return count(await policies.enforce('all'));
      }),
    );
    const changeStart = phases.length;
    for (let i = 1; i <= changes; i++) {
      phases.push(
        await timed(`policy change ${i}`, async () => {
          policies.update(policy.id, { document: DOCUMENTS[i % DOCUMENTS.length]!, createdBy: 'bench' });
          return count(await policies.enforce('all'));
        }),
      );
    }
    const queued = (app.store.sqlite.prepare(`SELECT count(*) AS n FROM apple_policy_profiles WHERE state = 'pending' AND policy_version = ?`).get(changes + 1) as { n: number }).n;
    if (queued !== n) throw new Error(`${n} Apple devices but ${queued} have the latest version pending`);
    phases.push(
      await timed('preview of a change', async () => {
        const p = policies.preview(policy.id, DOCUMENTS[0]!);
        return `${p.devices.toLocaleString('en')} devices in ${p.groups.length} groups`;
      }),
    );
    phases.push(
      await timed('unassignment', async () => {
        policies.unassign(policy.id, assignment);
        return count(await policies.enforce('all'));
      }),
    );
    report(phases, changeStart, changes, n);
  } finally {
    closeAppliance({ app, fake }, dir, Boolean(values.keep), log);
  }
}

function report(phases: Phase[], changeStart: number, changes: number, n: number): void {
  const reference = phases[0]!;
  const rows = [['run', 'elapsed s', 'CPU s', 'x reference', 'what it did']];
  for (const p of phases) {
    rows.push([p.name, p.seconds.toFixed(2), p.cpuMs === null ? 'n/a' : (p.cpuMs / 1000).toFixed(2), (p.seconds / reference.seconds).toFixed(1), p.did]);
  }
  process.stdout.write('\n' + table(rows));
  const worst = Math.max(...phases.slice(changeStart, changeStart + changes).map((p) => p.seconds));
  process.stdout.write(
    `\ntarget: a change on ${n.toLocaleString('en')} + ${n.toLocaleString('en')} devices in <= ${TARGET_S} s: ${worst <= TARGET_S ? 'met' : 'NOT met'} (slowest of ${changes}: ${worst.toFixed(2)} s)\n`,
  );
}
