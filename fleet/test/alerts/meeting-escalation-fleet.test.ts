// Alerts louder near a meeting, in the real fleet (buildFleet, aedes on port 0,
// SQLite in a temp dir): boxes enrolled over HTTP, logged in over MQTT and
// dropped like a crash; meetings made through the API; a webhook receiver and
// the dashboard's event stream on 127.0.0.1.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceTopic, type PeripheralsReport } from '@diemcau/shared';
import { buildFleet } from '../../src/app.js';
import { ADMIN_TOKEN, connectDevice, startTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import type { Alert } from '../../src/db/alerts-repo.js';
import { readEvents } from '../helpers/events.js';

const DISTRICT = 'yb-tram-tau';
const COMMUNE = 'yb-tram-tau-ban-cong';
const OTHER = 'yb-tram-tau-ban-mu';
const MIN = 60_000;

interface MeetingDetails {
  meeting?: { id: string; title: string; startsAt: string; state: string };
  lastMeeting?: { id: string };
  escalatedFrom?: string;
}

async function createMeeting(
  f: TestFleet,
  title: string,
  siteIds: string[],
  startsInMin: number,
): Promise<{ id: string; startsAt: string }> {
  const startsAt = new Date(Date.now() + startsInMin * MIN).toISOString();
  const res = await f.api<{ id: string; startsAt: string }>('POST', '/api/v1/meetings', {
    body: { title, chairSiteId: DISTRICT, siteIds, startsAt, durationMin: 60 },
  });
  if (res.status !== 201) throw new Error(`meeting: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const openAlerts = async (f: TestFleet, deviceId: string): Promise<Alert[]> =>
  (await f.api<{ items: Alert[] }>('GET', `/api/v1/alerts?state=open&deviceId=${deviceId}`)).body.items;

/** A box that is online and then vanishes without a goodbye (a crash, a cut cable). */
async function dropOffline(t: Parameters<typeof connectDevice>[0], f: TestFleet, siteId: string): Promise<string> {
  const creds = await f.enrol(siteId);
  const client = await connectDevice(t, creds);
  await waitFor(() => f.fleet.presence.isOnline(creds.deviceId), 5000, 'online');
  client.stream.destroy();
  return creds.deviceId;
}

t.test('a box that drops while its site meets within the hour opens critical, naming the meeting', async (t) => {
  const f = await startTestFleet(t);
  const opened: Alert[] = [];
  f.fleet.events.on('alert-opened', (a) => opened.push(a));
  const mtg = await createMeeting(f, 'Giao ban huyện Trạm Tấu', [COMMUNE], 20);

  const inMeeting = await dropOffline(t, f, COMMUNE);
  const notInMeeting = await dropOffline(t, f, OTHER);
  const [alert] = await waitFor(
    async () => {
      const a = await openAlerts(f, inMeeting);
      return a.length > 0 ? a : undefined;
    },
    5000,
    'device-offline alert',
  );
  t.equal(alert!.type, 'device-offline');
  t.equal(alert!.severity, 'critical');
  const d = alert!.details as MeetingDetails;
  t.match(d.meeting, { id: mtg.id, title: 'Giao ban huyện Trạm Tấu', startsAt: mtg.startsAt, state: 'scheduled' });
  t.equal(d.escalatedFrom, 'warning');
  t.same(
    opened.filter((a) => a.deviceId === inMeeting).map((a) => a.severity),
    ['critical'],
    'opened critical, not raised afterwards',
  );

  const [calm] = await waitFor(
    async () => {
      const a = await openAlerts(f, notInMeeting);
      return a.length > 0 ? a : undefined;
    },
    5000,
    'the other alert',
  );
  t.equal(calm!.severity, 'warning', 'a site with no meeting near stays at warning');
  t.equal((calm!.details as MeetingDetails).meeting, undefined);
});

t.test(
  'an open warning is raised when a meeting of its site is made, and lowered when it ends; webhook and dashboard see it',
  async (t) => {
    const received: { event: string; data: Alert }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as { event: string; data: Alert });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const f = await startTestFleet(t, {
      webhookUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
      webhookBaseDelayMs: 20,
    });

    // The dashboard's live feed, read over real HTTP.
    const feed = readEvents(`http://127.0.0.1:${f.fleet.httpPort}`, ADMIN_TOKEN);
    t.teardown(() => feed.stop());
    const stream = feed.events;
    await waitFor(() => stream.length > 0, 5000, 'stream hello');

    const deviceId = await dropOffline(t, f, COMMUNE);
    const opened = await waitFor(
      () => received.find((r) => r.event === 'alert-opened' && r.data.deviceId === deviceId),
      10_000,
      'webhook: opened',
    );
    t.equal(opened.data.severity, 'warning', 'no meeting yet: warning');

    const mtg = await createMeeting(f, 'Họp khẩn phòng chống lũ', [COMMUNE], 45);
    const raised = await waitFor(
      () =>
        received.find(
          (r) => r.event === 'alert-updated' && r.data.id === opened.data.id && r.data.severity === 'critical',
        ),
      10_000,
      'webhook: raised',
    );
    t.match((raised.data.details as MeetingDetails).meeting, {
      id: mtg.id,
      title: 'Họp khẩn phòng chống lũ',
      startsAt: mtg.startsAt,
    });
    await waitFor(
      () => stream.find((e) => e.type === 'alert' && e.alert.id === opened.data.id && e.alert.severity === 'critical'),
      5000,
      'dashboard stream: raised',
    );
    const open = await openAlerts(f, deviceId);
    t.same(
      open.map((a) => [a.id, a.severity]),
      [[opened.data.id, 'critical']],
      'the same alert, raised: no second one',
    );

    const ended = await f.api('POST', `/api/v1/meetings/${mtg.id}/end`, { body: {} });
    t.equal(ended.status, 200);
    const lowered = await waitFor(
      () =>
        received.find(
          (r) => r.event === 'alert-updated' && r.data.id === opened.data.id && r.data.severity === 'warning',
        ),
      10_000,
      'webhook: lowered',
    );
    const d = lowered.data.details as MeetingDetails;
    t.equal(d.meeting, undefined);
    t.equal(d.lastMeeting?.id, mtg.id, 'says which meeting the site missed');
    t.equal((await openAlerts(f, deviceId)).length, 1, 'still open: the box is still down');
  },
);

t.test('a camera unplugged during a live meeting opens critical; a district outage lists the meeting', async (t) => {
  const f = await startTestFleet(t);
  const communes = [
    'yb-tram-tau-ban-cong',
    'yb-tram-tau-ban-mu',
    'yb-tram-tau-hat-luu',
    'yb-tram-tau-lang-nhi',
    'yb-tram-tau-pa-hu',
  ];
  const boxes = [];
  for (const site of communes) {
    const creds = await f.enrol(site);
    boxes.push({ creds, client: await connectDevice(t, creds) });
  }
  const mtg = await createMeeting(f, 'Giao ban sáng thứ Hai', communes.slice(0, 2), 0);

  // The camera of a box in the live meeting is unplugged.
  const first = boxes[0]!;
  const report: PeripheralsReport = {
    v: 1,
    kind: 'peripherals',
    at: new Date().toISOString(),
    hardware: 'simulated',
    peripherals: { camera: 'missing', microphone: 'ok', display: 'ok', gpio: 'ok' },
    reasons: {},
  };
  await first.client.publishAsync(deviceTopic(first.creds.deviceId, 'health'), JSON.stringify(report), { qos: 1 });
  const camera = await waitFor(
    async () => (await openAlerts(f, first.creds.deviceId)).find((a) => a.type === 'camera-missing'),
    5000,
    'camera alert',
  );
  t.equal(camera.severity, 'critical');
  t.match((camera.details as MeetingDetails).meeting, { id: mtg.id, state: 'live' });

  // The district's link drops: one incident, and it names the meeting of its sites.
  for (const b of boxes.slice(0, 4)) b.client.stream.destroy();
  const incident = await waitFor(
    async () => {
      const r = await f.api<{ items: Alert[] }>('GET', '/api/v1/alerts?state=open&type=district-outage');
      const i = r.body.items[0];
      return i && (i.details?.devices as string[] | undefined)?.length === 4 ? i : undefined;
    },
    5000,
    'district-outage with 4 devices',
  );
  t.equal(incident.severity, 'critical');
  t.same(
    (incident.details?.meetings as { id: string }[] | undefined)?.map((m) => m.id),
    [mtg.id],
  );
});

t.test('an alert is raised by the clock alone when its meeting comes within the lead time', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-fleet-'));
  const fleet = await buildFleet({
    config: {
      httpPort: 0,
      mqttPort: 0,
      host: '127.0.0.1',
      dataDir,
      adminToken: ADMIN_TOKEN,
      logLevel: 'silent',
      meetingAlertLeadMin: 1,
    },
    escalation: { intervalMs: 200 },
  });
  t.teardown(async () => {
    await fleet.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const api: TestFleet['api'] = async (method, url, opts = {}) => {
    const res = await fleet.http.inject({
      method,
      url,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      ...(opts.body === undefined ? {} : { payload: opts.body as object }),
    });
    return { status: res.statusCode, body: res.json() as never };
  };
  const f: TestFleet = {
    fleet,
    dataDir,
    api,
    enrol: async (siteId) => {
      const tok = await api<{ token: string }>('POST', `/api/v1/sites/${siteId}/enrollment-tokens`, { body: {} });
      const res = await fleet.http.inject({
        method: 'POST',
        url: '/api/v1/enroll',
        payload: { token: tok.body.token, hardware: { agentVersion: '0.1.0' } },
      });
      return res.json() as never;
    },
  };

  const deviceId = await dropOffline(t, f, COMMUNE);
  const [alert] = await waitFor(
    async () => {
      const a = await openAlerts(f, deviceId);
      return a.length > 0 ? a : undefined;
    },
    5000,
    'device-offline alert',
  );
  t.equal(alert!.severity, 'warning');
  // Starts in 63 s with a lead of one minute: not near yet when it is made...
  const mtg = await createMeeting(f, 'Họp chiều', [COMMUNE], 63 / 60);
  t.equal((await openAlerts(f, deviceId))[0]!.severity, 'warning', 'not within the lead time yet');
  // ...and near a few seconds later, with nothing happening but the clock.
  const raised = await waitFor(
    async () => (await openAlerts(f, deviceId)).find((a) => a.severity === 'critical'),
    10_000,
    'raised by the tick',
  );
  t.equal(raised.id, alert!.id);
  t.equal((raised.details as MeetingDetails).meeting?.id, mtg.id);
});
