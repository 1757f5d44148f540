// A rollout over the real fleet (API, broker, SQLite, meetings) with dozens
// of simulated agents: rings in order, a live meeting's site skipped until
// the meeting ends, and a ring whose failure rate passes the criterion
// stopping the rollout before the next ring hears of the release.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { ADMIN_TOKEN, waitFor } from '../helpers/fleet.js';
import { readEvents } from '../helpers/events.js';
import { publishRelease, simAgent, startOtaFleet, type SimAgent } from './harness.js';

const f = await startOtaFleet(t);
const all = f.fleet.sites.all();
const siteIds = ['yb-nghia-lo', 'yb-tram-tau', 'yb-mu-cang-chai'].flatMap((d) => [
  d,
  ...all.filter((s) => s.parentId === d).map((s) => s.id),
]);
const failing = new Set<string>();
const agents: SimAgent[] = [];
for (const siteId of siteIds) {
  const creds = await f.enrol(siteId);
  agents.push(await simAgent(t, f, creds, (v) => (v === '1.2.0' && failing.has(siteId) ? 'fail' : 'ok')));
}
const bySite = (id: string) => agents.find((a) => a.siteId === id)!;
await waitFor(
  async () => (await f.fleet.repos.devices.list()).filter((d) => d.online).length === agents.length,
  10_000,
  'agents online',
);
t.equal(agents.length, 43, 'three districts of simulated agents');

interface View {
  id: string;
  state: string;
  reason: string | null;
  currentRing: number | null;
  skippedBusy: string[];
  rings: { name: string; total: number; pending: number; inFlight: number; succeeded: number; failed: number }[];
}
const view = async (id: string) => (await f.api<View>('GET', `/api/v1/rollouts/${id}`)).body;
/** Plans again until `check` holds (reports also trigger rounds). */
const until = async (id: string, check: (v: View) => boolean, what: string) =>
  waitFor(
    async () => {
      await f.ota.rollouts.tick();
      const v = await view(id);
      return check(v) ? v : undefined;
    },
    20_000,
    what,
  );

// The dashboards' live feed: rollouts changing must reach it.
const feed = readEvents(`http://127.0.0.1:${f.fleet.httpPort}`, ADMIN_TOKEN);
t.teardown(() => feed.stop());
const rolloutEvents = () => feed.events.filter((e) => e.type === 'rollouts').length;

await t.test('a site in a live meeting is skipped until the meeting ends', async (t) => {
  await publishRelease(f, '1.1.0');
  const nl = all.filter((s) => s.parentId === 'yb-nghia-lo').map((s) => s.id);
  const [pilotA, pilotB] = [nl[0]!, nl[1]!];
  const meeting = await f.api<{ id: string }>('POST', '/api/v1/meetings', {
    title: 'Giao ban',
    chairSiteId: 'yb-nghia-lo',
    siteIds: [pilotB],
  });
  t.equal(meeting.status, 201, 'meeting live at one pilot site');

  const created = await f.api<View>('POST', '/api/v1/rollouts', {
    release: '1.1.0',
    rootSiteId: 'yb-nghia-lo',
    rings: [
      { name: 'pilot', select: { kind: 'sites', siteIds: [pilotA, pilotB] }, maxInFlight: 2 },
      { name: 'nghia-lo', select: { kind: 'district', districtId: 'yb-nghia-lo' }, maxInFlight: 5 },
    ],
    abort: { maxFailureRate: 0.2, minDevices: 3 },
    silentTimeoutMin: 30,
    windows: [],
    utcOffsetMin: 420,
    meetingLeadMin: 30,
  });
  t.equal(created.status, 201, 'rollout created');
  const id = created.body.id;
  let v = await until(id, (v) => v.rings[0]!.succeeded === 1, 'pilot A updated');
  t.same(v.skippedBusy, [bySite(pilotB).deviceId], 'pilot B skipped: it is in a meeting');
  t.equal(v.currentRing, 0, 'the district ring waits for the pilot ring');
  t.same(bySite(pilotB).desired, [], 'pilot B was never told to update during the meeting');
  t.ok(
    agents.filter((a) => nl.includes(a.siteId) && a.siteId !== pilotA).every((a) => a.desired.length === 0),
    'nobody in the next ring was told either',
  );

  const ended = await f.api('POST', `/api/v1/meetings/${meeting.body.id}/end`);
  t.equal(ended.status, 200, 'meeting ended');
  v = await until(id, (v) => v.state === 'completed', 'rollout completed');
  t.same(
    bySite(pilotB).desired.map((d) => d.version),
    ['1.1.0'],
    'pilot B updated after the meeting',
  );
  t.same(
    bySite(pilotB).desired[0]!.urls,
    ['/api/v1/releases/1.1.0/artifact'],
    'no public URL configured: a path the box resolves against its fleet URL',
  );
  t.same(
    v.rings.map((r) => [r.name, r.total, r.succeeded, r.failed]),
    [
      ['pilot', 2, 2, 0],
      ['nghia-lo', 13, 13, 0],
    ],
    'per-ring progress',
  );
  await waitFor(() => rolloutEvents() >= 1, 5000, 'rollout changes on the live feed');
  t.ok(
    rolloutEvents() < 15,
    `the dashboards heard of it ${rolloutEvents()} times (at most once a second), not once for each of the 15 boxes' reports`,
  );
  const inDistrict = agents.filter((a) => a.siteId === 'yb-nghia-lo' || nl.includes(a.siteId));
  t.ok(
    inDistrict.every((a) => a.version === '1.1.0'),
    'every box of the subtree runs 1.1.0',
  );
  t.ok(
    agents.filter((a) => !inDistrict.includes(a)).every((a) => a.desired.length === 0),
    'boxes outside the subtree untouched',
  );
});

await t.test('a ring whose failure rate passes the criterion stops the rollout', async (t) => {
  await publishRelease(f, '1.2.0', randomBytes(32 * 1024));
  const tt = all.filter((s) => s.parentId === 'yb-tram-tau').map((s) => s.id);
  for (const s of tt.slice(1)) failing.add(s); // the new version breaks on Tram Tau's commune boxes
  const created = await f.api<View>('POST', '/api/v1/rollouts', {
    release: '1.2.0',
    rings: [
      { name: 'pilot', select: { kind: 'sites', siteIds: [tt[0]!] }, maxInFlight: 1 },
      { name: 'tram-tau', select: { kind: 'district', districtId: 'yb-tram-tau' }, maxInFlight: 3 },
      { name: 'everything', select: { kind: 'rest' }, maxInFlight: 10 },
    ],
    abort: { maxFailureRate: 0.25, minDevices: 4 },
    silentTimeoutMin: 30,
    windows: [],
    utcOffsetMin: 420,
    meetingLeadMin: 30,
  });
  t.equal(created.status, 201, 'rollout created');
  const v = await until(created.body.id, (v) => v.state === 'aborted', 'rollout aborted');
  // The failing ring's rate, or the whole rollout's (the pilot counts in it), whichever passes first.
  t.match(
    v.reason,
    /^(ring tram-tau|rollout): \d+ of \d+ finished devices failed/,
    `stopped by the failure rate: ${v.reason}`,
  );
  const ring = v.rings[1]!;
  const finished = v.rings.reduce((n, r) => n + r.failed + r.succeeded, 0);
  const failed = v.rings.reduce((n, r) => n + r.failed, 0);
  t.ok(failed / finished > 0.25 && finished >= 4, `criterion met over enough devices (${failed} of ${finished})`);
  t.equal(failed, ring.failed, "the failures are the ring's");
  t.ok(ring.failed + ring.succeeded + ring.inFlight <= 6, `stopped early: ${JSON.stringify(ring)}`);
  t.equal(v.rings[2]!.succeeded + v.rings[2]!.inFlight + v.rings[2]!.failed, 0, 'the next ring never started');
  const outside = agents.filter((a) => a.siteId !== 'yb-tram-tau' && !tt.includes(a.siteId));
  t.ok(
    outside.every((a) => !a.desired.some((d) => d.version === '1.2.0')),
    'no box outside the failing ring was told to update',
  );
  const inFlight = (
    await f.api<{ devices: { deviceId: string; state: string }[] }>(
      'GET',
      `/api/v1/rollouts/${created.body.id}?devices=true`,
    )
  ).body.devices.filter((d) => d.state === 'in-flight');
  await waitFor(
    () => inFlight.every((d) => agents.find((a) => a.deviceId === d.deviceId)!.withdrawn > 0),
    5000,
    'withdrawal',
  );
  t.pass(`the release was withdrawn from the ${inFlight.length} devices still in flight`);
  // Nothing more happens after an abort, whatever reports still arrive.
  await f.ota.rollouts.tick();
  t.equal((await view(created.body.id)).state, 'aborted');
  const resume = await f.api<{ code: string }>('POST', `/api/v1/rollouts/${created.body.id}/resume`);
  t.equal(resume.status, 409, 'an aborted rollout cannot be resumed');
});

await t.test('API: releases listed, artifact served with ranges, bad uploads refused', async (t) => {
  const list = await f.api<{ items: { version: string; artifactReady: boolean }[] }>('GET', '/api/v1/releases');
  t.same(list.body.items.map((r) => r.version).sort(), ['1.1.0', '1.2.0']);
  const full = await f.api('GET', '/api/v1/releases/1.2.0/artifact', undefined, { authorization: '' });
  t.equal(full.status, 200, 'public download');
  const part = await f.api('GET', '/api/v1/releases/1.2.0/artifact', undefined, { range: 'bytes=1000-' });
  t.equal(part.status, 206);
  t.equal(part.headers['content-range'], `bytes 1000-${full.raw.length - 1}/${full.raw.length}`);
  t.same(part.raw, full.raw.subarray(1000), 'the tail of the same bytes');
  t.equal((await f.api('GET', '/api/v1/releases/1.2.0/artifact', undefined, { range: 'bytes=999999-' })).status, 416);
  const head = await f.fleet.http.inject({ method: 'HEAD', url: '/api/v1/releases/1.2.0/artifact' });
  t.equal(head.headers['content-length'], String(full.raw.length), 'HEAD tells the size (district caches ask)');
  const forged = await f.api<{ code: string }>('POST', '/api/v1/releases', {
    v: 1,
    keyId: f.keys.keyId,
    payload: '{"v":1}',
    signature: Buffer.alloc(64).toString('base64'),
  });
  t.equal(forged.status, 400);
  t.equal(forged.body.code, 'FLEET_ERR_RELEASE_INVALID', 'a manifest the trusted key did not sign is refused');
  const metrics = await f.fleet.metrics.registry.metrics();
  t.match(metrics, /diemcau_ota_reports_total\{state="committed"\} [1-9]/, 'reports counted by state');
  t.match(metrics, /diemcau_ota_artifact_bytes_sent_total [1-9]/, 'artifact bytes counted');
});
