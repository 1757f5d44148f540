// An operating system rollout over the real fleet (API, broker, SQLite,
// meetings) with simulated boxes that answer on 'os' as the agent's OS
// updater does: the snapshot reaches the rings in order on the boxes'
// 'desired-os' channel (never on 'desired', which holds agent releases), a
// site in a live meeting is held until the meeting ends, a box that already
// applied the snapshot counts as done, failures stop the rollout, and the API
// shows each box's snapshot and what apt changed.
import t from 'tap';
import type { MqttClient } from 'mqtt';
import { deviceTopic, desiredOsCodec, type EnrolResponse, type OsStatus } from '@diemcau/shared';
import { connectDevice, waitFor } from '../helpers/fleet.js';
import { startOtaFleet, type OtaFleet } from './harness.js';

interface OsBox {
  deviceId: string;
  siteId: string;
  client: MqttClient;
  /** Snapshots it was told to apply, in order. */
  told: string[];
  /** Messages that arrived on the release channel (must stay empty). */
  releaseMessages: number;
  current: string | null;
  withdrawn: number;
}

const SOURCES = [{ uri: 'http://mirror.example.invalid/debian/20261203', suite: 'bookworm', components: ['main'] }];

async function osBox(
  tt: { teardown(fn: () => unknown): void },
  creds: EnrolResponse,
  behaviour: () => 'ok' | 'fail',
): Promise<OsBox> {
  const client = await connectDevice(tt, creds);
  const box: OsBox = {
    deviceId: creds.deviceId,
    siteId: creds.siteId,
    client,
    told: [],
    releaseMessages: 0,
    current: null,
    withdrawn: 0,
  };
  const report = (s: Omit<OsStatus, 'v' | 'at' | 'current'>): Promise<unknown> =>
    client.publishAsync(
      deviceTopic(box.deviceId, 'os'),
      JSON.stringify({ v: 1, at: new Date().toISOString(), current: box.current, ...s }),
      { qos: 1 },
    );
  client.on('message', (topic, payload) => {
    if (topic.endsWith('/desired')) {
      box.releaseMessages++;
      return;
    }
    const d = desiredOsCodec.decode(payload);
    if (!d.ok) return;
    const u = d.value.update;
    if (u === null) {
      box.withdrawn++;
      return;
    }
    if (u.snapshot === box.current) return;
    box.told.push(u.snapshot);
    void (async () => {
      await report({ state: 'applying', snapshot: u.snapshot, rolloutId: u.rolloutId! });
      if (behaviour() === 'fail') {
        await report({
          state: 'failed',
          snapshot: u.snapshot,
          rolloutId: u.rolloutId!,
          error: { code: 'APPL_ERR_OS_APT', message: 'apt-get upgrade exited with 100' },
        });
        return;
      }
      box.current = u.snapshot;
      await report({
        state: 'applied',
        snapshot: u.snapshot,
        rolloutId: u.rolloutId!,
        changed: [{ package: 'openssl', from: '3.0.17-1~deb12u2', to: '3.0.17-1~deb12u3' }],
        rebootRequired: false,
      });
    })().catch(() => undefined);
  });
  await client.subscribeAsync([deviceTopic(box.deviceId, 'desired-os'), deviceTopic(box.deviceId, 'desired')], {
    qos: 1,
  });
  return box;
}

interface View {
  id: string;
  state: string;
  reason: string | null;
  currentRing: number | null;
  skippedBusy: string[];
  spec: { os?: { snapshot: string } };
  rings: { name: string; total: number; pending: number; inFlight: number; succeeded: number; failed: number }[];
}

const until = async (f: OtaFleet, id: string, check: (v: View) => boolean, what: string): Promise<View> =>
  waitFor(
    async () => {
      await f.ota.rollouts.tick();
      const v = (await f.api<View>('GET', `/api/v1/rollouts/${id}`)).body;
      return check(v) ? v : undefined;
    },
    20_000,
    what,
  );

const spec = (snapshot: string, rings: unknown[], extra: Record<string, unknown> = {}) => ({
  os: { snapshot, sources: SOURCES },
  rootSiteId: 'yb-nghia-lo',
  rings,
  abort: { maxFailureRate: 0.2, minDevices: 3 },
  silentTimeoutMin: 30,
  windows: [],
  utcOffsetMin: 420,
  meetingLeadMin: 30,
  ...extra,
});

await t.test('an OS snapshot rolls out ring by ring, held at a site in a meeting', async (t) => {
  const f = await startOtaFleet(t);
  const communes = f.fleet.sites
    .all()
    .filter((s) => s.parentId === 'yb-nghia-lo')
    .map((s) => s.id)
    .slice(0, 5);
  const boxes: OsBox[] = [];
  for (const siteId of communes) boxes.push(await osBox(t, await f.enrol(siteId), () => 'ok'));
  await waitFor(
    async () => (await f.fleet.repos.devices.list()).filter((d) => d.online).length === boxes.length,
    10_000,
    'boxes online',
  );
  const [pilotA, pilotB] = [communes[0]!, communes[1]!];
  const bySite = (id: string) => boxes.find((b) => b.siteId === id)!;
  const meeting = await f.api<{ id: string }>('POST', '/api/v1/meetings', {
    title: 'Giao ban',
    chairSiteId: 'yb-nghia-lo',
    siteIds: [pilotB],
  });
  t.equal(meeting.status, 201, 'a meeting is live at one pilot site');

  const both = await f.api('POST', '/api/v1/rollouts', {
    ...spec('20261203', [{ name: 'all', select: { kind: 'rest' }, maxInFlight: 5 }]),
    release: '1.0.0',
  });
  t.equal(both.status, 400, 'a rollout names a release or an OS snapshot, not both');

  const created = await f.api<View>(
    'POST',
    '/api/v1/rollouts',
    spec('20261203', [
      { name: 'pilot', select: { kind: 'sites', siteIds: [pilotA, pilotB] }, maxInFlight: 2 },
      { name: 'rest', select: { kind: 'rest' }, maxInFlight: 5 },
    ]),
  );
  t.equal(created.status, 201, 'OS rollout created');
  t.equal(created.body.spec.os?.snapshot, '20261203', 'its target is the mirror snapshot');
  const id = created.body.id;

  let v = await until(f, id, (v) => v.rings[0]!.succeeded === 1, 'pilot A applied the snapshot');
  t.same(v.skippedBusy, [bySite(pilotB).deviceId], 'pilot B held: it is in a meeting');
  t.equal(v.currentRing, 0, 'the next ring waits for the pilot ring');
  t.same(bySite(pilotB).told, [], 'pilot B was never told to update during the meeting');
  t.ok(
    boxes.filter((b) => b.siteId !== pilotA).every((b) => b.told.length === 0),
    'nobody in the next ring was told either',
  );

  t.equal((await f.api('POST', `/api/v1/meetings/${meeting.body.id}/end`)).status, 200, 'meeting ended');
  v = await until(f, id, (v) => v.state === 'completed', 'OS rollout completed');
  t.same(
    v.rings.map((r) => [r.name, r.total, r.succeeded, r.failed]),
    [
      ['pilot', 2, 2, 0],
      ['rest', 3, 3, 0],
    ],
    'every box applied the snapshot',
  );
  t.ok(
    boxes.every((b) => b.told.length === 1 && b.told[0] === '20261203'),
    'each box was told once, on its desired-os channel',
  );
  t.ok(
    boxes.every((b) => b.releaseMessages === 0),
    'the release channel was left alone',
  );

  const os = await f.api<OsStatus>('GET', `/api/v1/devices/${bySite(pilotA).deviceId}/os`);
  t.equal(os.status, 200, "a box's OS report through the API");
  t.equal(os.body.current, '20261203', 'its snapshot');
  t.same(
    os.body.changed,
    [{ package: 'openssl', from: '3.0.17-1~deb12u2', to: '3.0.17-1~deb12u3' }],
    'what apt changed',
  );

  // The same snapshot again: every box already has it.
  const again = await f.api<View>(
    'POST',
    '/api/v1/rollouts',
    spec('20261203', [{ name: 'all', select: { kind: 'rest' }, maxInFlight: 5 }]),
  );
  t.equal(again.status, 201, 'a second rollout of the same snapshot');
  v = await until(f, again.body.id, (v) => v.state === 'completed', 'nothing to do');
  t.equal(v.rings[0]!.succeeded, 5, 'boxes on the snapshot count as done');
  t.ok(
    boxes.every((b) => b.told.length === 1),
    'and are not told again',
  );
});

await t.test('boxes whose apt fails stop an OS rollout before the next ring', async (t) => {
  const f = await startOtaFleet(t);
  const communes = f.fleet.sites
    .all()
    .filter((s) => s.parentId === 'yb-nghia-lo')
    .map((s) => s.id)
    .slice(0, 6);
  const boxes: OsBox[] = [];
  for (const [i, siteId] of communes.entries())
    boxes.push(await osBox(t, await f.enrol(siteId), () => (i < 3 ? 'fail' : 'ok')));
  await waitFor(
    async () => (await f.fleet.repos.devices.list()).filter((d) => d.online).length === boxes.length,
    10_000,
    'boxes online',
  );
  const created = await f.api<View>(
    'POST',
    '/api/v1/rollouts',
    spec('20261204', [
      { name: 'pilot', select: { kind: 'sites', siteIds: communes.slice(0, 3) }, maxInFlight: 3 },
      { name: 'rest', select: { kind: 'rest' }, maxInFlight: 5 },
    ]),
  );
  t.equal(created.status, 201, 'OS rollout created');
  const v = await until(f, created.body.id, (v) => v.state === 'aborted', 'rollout aborted');
  t.match(v.reason, /ring pilot: 3 of 3 finished devices failed/, 'stopped by the pilot ring');
  t.ok(
    boxes.slice(3).every((b) => b.told.length === 0),
    'the next ring never heard of the snapshot',
  );
  const os = await f.api<OsStatus>('GET', `/api/v1/devices/${boxes[0]!.deviceId}/os`);
  t.equal(os.body.state, 'failed', "a failed box's report");
  t.equal(os.body.error?.code, 'APPL_ERR_OS_APT', 'with apt as the cause');
});
