// The OS updater's decisions with the simulated applier (the real one is
// apt.test.ts): a snapshot is held while the box is in a live meeting and
// applied when it ends; a kernel update reboots the box and the start after
// the boot finishes it (health check, then 'applied' with what changed);
// a failed health check or apply is reported, not retried, until the fleet
// names another snapshot; a box already on the snapshot says so.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { pino } from 'pino';
import type { OsStatus } from '@diemcau/shared';
import type { OsApplier } from '../../src/os/applier.js';
import { SimulatedOs } from '../../src/os/simulated.js';
import { OsUpdater } from '../../src/os/updater.js';

const log = pino({ level: 'silent' });
const SOURCES = [{ uri: 'http://mirror.example.invalid/debian/s', suite: 'bookworm', components: ['main'] }];
const desired = (snapshot: string, rolloutId = 'r1') =>
  JSON.stringify({ v: 1, update: { snapshot, sources: SOURCES, rolloutId } });

function box(
  t: { teardown(fn: () => unknown): void },
  o: { applier?: (dir: string) => OsApplier; healthy?: () => string | null; dir?: string } = {},
) {
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-os-updater-'));
  if (!o.dir) t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const reports: OsStatus[] = [];
  const reboots: string[] = [];
  let meeting = false;
  const applier = o.applier?.(dir) ?? new SimulatedOs(dir);
  const updater = new OsUpdater({
    applier,
    stateFile: path.join(dir, 'state.json'),
    busy: () => meeting,
    report: async (s) => void reports.push(s),
    health: { before: async () => undefined, after: async () => o.healthy?.() ?? null },
    reboot: async (reason) => void reboots.push(reason),
    holdCheckMs: 20,
    log,
  });
  t.teardown(() => updater.close());
  return {
    dir,
    updater,
    reports,
    reboots,
    states: () => reports.map((r) => r.state),
    setMeeting: (v: boolean) => (meeting = v),
    settled: async (pred: () => boolean) => {
      for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
      if (!pred()) throw new Error(`not settled: ${JSON.stringify(reports.map((r) => r.state))}`);
    },
  };
}

t.test('held during a live meeting, applied when it ends, once', async (t) => {
  const b = box(t);
  b.setMeeting(true);
  b.updater.handleDesiredMessage(desired('20261203'));
  await b.settled(() => b.reports.length === 1);
  await new Promise((r) => setTimeout(r, 100)); // several hold checks pass
  t.same(b.states(), ['held'], 'held, said once, nothing applied while the meeting runs');
  b.setMeeting(false);
  await b.settled(() => b.states().includes('rebooting'));
  t.same(b.states(), ['held', 'applying', 'rebooting'], 'applied once the meeting ended');
  const rebooting = b.reports.at(-1)!;
  t.ok(
    rebooting.changed?.some((c) => c.package.startsWith('linux-image-') && c.to?.endsWith('+snap20261203')),
    'the kernel changed, so the box reboots',
  );
  t.equal(b.reboots.length, 1, 'reboot asked for');
  t.equal(rebooting.rolloutId, 'r1', 'reports carry the rollout');
});

t.test('after the reboot the start finishes the update and reports what changed', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-os-updater-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const before = box(t, { dir });
  before.updater.handleDesiredMessage(desired('20261203'));
  await before.settled(() => before.states().includes('rebooting'));
  await before.updater.close();

  const after = box(t, { dir });
  await after.updater.start();
  t.same(after.states(), ['applied'], "the boot's report");
  t.equal(after.reports[0]!.current, '20261203', 'on the snapshot');
  t.same(after.reports[0]!.changed, before.reports.at(-1)!.changed, 'with the packages apt changed before the reboot');
  after.updater.handleDesiredMessage(desired('20261203'));
  await new Promise((r) => setTimeout(r, 50));
  t.same(after.states(), ['applied'], 'the retained message again after the boot: answered already, nothing run');
  after.updater.handleDesiredMessage(desired('20261203', 'r2'));
  await after.settled(() => after.reports.length === 2);
  t.same(after.states(), ['applied', 'applied'], 'a new rollout of the same snapshot: already applied, nothing run');
  t.equal(after.reports[1]!.changed, undefined, 'without claiming what changed');
  t.equal(after.reboots.length, 0, 'no second reboot');
});

t.test('a box worse after the update reports failed and does not try again', async (t) => {
  const noReboot = (dir: string): OsApplier => {
    const sim = new SimulatedOs(dir);
    return {
      kind: 'simulated',
      apply: async (req) => ({ ...(await sim.apply(req)), rebootRequired: false }),
      close: () => undefined,
    };
  };
  const b = box(t, { applier: noReboot, healthy: () => 'worse after the update: camera not-found' });
  b.updater.handleDesiredMessage(desired('20261203'));
  await b.settled(() => b.states().includes('failed'));
  t.same(b.states(), ['applying', 'failed'], 'failed');
  t.equal(b.reports.at(-1)!.error?.code, 'APPL_ERR_OS_HEALTH', 'with the health check as the reason');
  b.updater.handleDesiredMessage(desired('20261203'));
  await new Promise((r) => setTimeout(r, 50));
  t.same(b.states(), ['applying', 'failed'], 'the same snapshot is not tried again');
  b.updater.handleDesiredMessage(desired('20261204', 'r2'));
  await b.settled(() => b.reports.length === 4);
  t.same(b.states().slice(2), ['applying', 'failed'], 'a new snapshot is tried');
});

t.test('an apply that throws is a failure with apt as the cause', async (t) => {
  const b = box(t, {
    applier: () => ({
      kind: 'simulated',
      apply: async () => {
        throw Object.assign(new Error('apt-get update: E: The repository is not signed.'), { code: 'APPL_ERR_OS_APT' });
      },
      close: () => undefined,
    }),
  });
  b.updater.handleDesiredMessage(desired('20261203'));
  await b.settled(() => b.states().includes('failed'));
  t.match(b.reports.at(-1)!.error?.message, /not signed/, "apt's words reach the fleet");
  b.updater.handleDesiredMessage('{"v":1,"update":{"snapshot":"bad snapshot"}}');
  t.equal(b.updater.stats.refused, 1, 'a malformed desired message is refused and counted');
});
