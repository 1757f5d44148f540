import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectDevice, startTestFleet, waitFor } from '../helpers/fleet.js';
import { connectPacket, firstBytes, rawConnect } from '../helpers/raw-mqtt.js';
import type { FleetEventMap } from '../../src/events.js';

interface AlertBody {
  id: number;
  type: string;
  deviceId: string | null;
  siteId: string | null;
  openedAt: string;
  resolvedAt: string | null;
}

t.test('a killed connection opens device-offline; reconnecting resolves it', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t);
  const presence: FleetEventMap['device-presence'][] = [];
  fleet.events.on('device-presence', (e) => presence.push(e));
  const a = await enrol('yb-mu-cang-chai-che-tao');
  const client = await connectDevice(t, a);
  await waitFor(() => fleet.presence.isOnline(a.deviceId), 5000, 'online');

  client.stream.destroy(); // a crash: no DISCONNECT, the broker publishes the will
  const open = await waitFor(
    async () => {
      const r = await api<{ items: AlertBody[] }>('GET', '/api/v1/alerts?state=open');
      return r.body.items.find((x) => x.type === 'device-offline' && x.deviceId === a.deviceId);
    },
    5000,
    'device-offline alert',
  );
  t.equal(open.siteId, 'yb-mu-cang-chai-che-tao');
  const dev = await api<{ online: boolean }>('GET', `/api/v1/devices/${a.deviceId}`);
  t.equal(dev.body.online, false);

  await connectDevice(t, a);
  const resolved = await waitFor(
    async () => {
      const r = await api<{ items: AlertBody[] }>('GET', '/api/v1/alerts?state=resolved');
      return r.body.items.find((x) => x.id === open.id);
    },
    5000,
    'resolved',
  );
  t.type(resolved.resolvedAt, 'string');
  t.same((await api<{ items: unknown[] }>('GET', '/api/v1/alerts?state=open')).body.items, []);
  t.same(
    presence.filter((e) => e.deviceId === a.deviceId).map((e) => e.online),
    [true, false, true],
    'the event bus saw online, offline, online',
  );
});

t.test('a silent link (no packets at all) is noticed by keepalive expiry', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t);
  const a = await enrol('yb-tram-tau');
  const sock = await rawConnect(fleet.mqttPort);
  t.teardown(() => sock.destroy());
  const connack = firstBytes(sock);
  // keepalive 1 s and then nothing: like a box whose link died without a FIN.
  sock.write(connectPacket({ clientId: a.deviceId, username: a.deviceId, password: a.mqtt.password, keepalive: 1 }));
  t.equal((await connack)[3], 0, 'accepted');
  await waitFor(() => fleet.presence.isOnline(a.deviceId), 5000, 'online');
  const alert = await waitFor(
    async () => {
      const r = await api<{ items: AlertBody[] }>('GET', '/api/v1/alerts?state=open&type=device-offline');
      return r.body.items.find((x) => x.deviceId === a.deviceId);
    },
    10_000,
    'keepalive alert',
  );
  t.ok(alert);
});

t.test('alerts are POSTed to the webhook, retried until the receiver takes them', async (t) => {
  const received: { event: string; data: AlertBody }[] = [];
  let refusals = 2;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (refusals > 0) {
        refusals -= 1;
        res.statusCode = 503;
        return res.end();
      }
      received.push(JSON.parse(body) as { event: string; data: AlertBody });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const { enrol } = await startTestFleet(t, { webhookUrl: url, webhookBaseDelayMs: 20 });
  const a = await enrol('yb-yen-binh');
  const client = await connectDevice(t, a);
  client.stream.destroy();
  const got = await waitFor(() => received.find((r) => r.event === 'alert-opened'), 10_000, 'webhook');
  t.equal(got.data.type, 'device-offline');
  t.equal(got.data.deviceId, a.deviceId);
  t.equal(refusals, 0, 'it was refused twice first');
});

t.test('a restart keeps open alerts and resolves them when the device returns', async (t) => {
  const first = await startTestFleet({ teardown: () => undefined });
  const a = await first.enrol('yb-city');
  const client = await connectDevice(t, a);
  client.stream.destroy();
  await waitFor(
    async () => (await first.api<{ items: unknown[] }>('GET', '/api/v1/alerts?state=open')).body.items.length === 1,
    5000,
  );
  await first.fleet.close();
  const second = await startTestFleet(t, {}, first.dataDir);
  const creds = { ...a, mqtt: { ...a.mqtt, url: `mqtt://127.0.0.1:${second.fleet.mqttPort}` } };
  await connectDevice(t, creds);
  await waitFor(
    async () => (await second.api<{ items: unknown[] }>('GET', '/api/v1/alerts?state=open')).body.items.length === 0,
    5000,
    'resolved after restart',
  );
  t.pass('resolved');
});

t.test('most of a district dropping at once is one district-outage incident', async (t) => {
  const { api, enrol } = await startTestFleet(t);
  const communes = [
    'yb-tram-tau-ban-cong',
    'yb-tram-tau-ban-mu',
    'yb-tram-tau-hat-luu',
    'yb-tram-tau-lang-nhi',
    'yb-tram-tau-pa-hu',
  ];
  const boxes = [];
  for (const site of communes) {
    const creds = await enrol(site);
    boxes.push({ creds, client: await connectDevice(t, creds) });
  }
  // The district's link drops: 4 of its 5 boxes vanish together.
  for (const b of boxes.slice(0, 4)) b.client.stream.destroy();
  const incident = await waitFor(
    async () => {
      const r = await api<{ items: (AlertBody & { details: { devices: string[] } })[] }>(
        'GET',
        '/api/v1/alerts?state=open',
      );
      const i = r.body.items.find((a) => a.type === 'district-outage');
      return i && i.details.devices.length === 4 ? { incident: i, all: r.body.items } : undefined;
    },
    5000,
    'district-outage with 4 devices',
  );
  t.equal(incident.incident.siteId, 'yb-tram-tau');
  t.same(
    incident.incident.details.devices.sort(),
    boxes
      .slice(0, 4)
      .map((b) => b.creds.deviceId)
      .sort(),
  );
  t.same(
    incident.all.filter((a) => a.type === 'device-offline'),
    [],
    'no per-device alerts left open',
  );
});

t.test('a device that was online when the fleet stopped and never returns is alerted after the grace', async (t) => {
  const first = await startTestFleet({ teardown: () => undefined });
  const a = await first.enrol('yb-van-yen');
  await connectDevice(t, a);
  await waitFor(() => first.fleet.presence.isOnline(a.deviceId), 5000, 'online');
  await first.fleet.close(); // the box stays silent from now on
  const second = await startTestFleet(t, { startupGraceMs: 300 }, first.dataDir);
  t.same(
    (await second.api<{ items: unknown[] }>('GET', '/api/v1/alerts?state=open')).body.items,
    [],
    'nothing at start',
  );
  const alert = await waitFor(
    async () => {
      const r = await second.api<{ items: AlertBody[] }>('GET', '/api/v1/alerts?state=open');
      return r.body.items.find((x) => x.deviceId === a.deviceId);
    },
    5000,
    'grace alert',
  );
  t.equal(alert.type, 'device-offline');
});

t.test(
  'a box that comes back and drops again during the restart grace is judged with the others at its end',
  async (t) => {
    const first = await startTestFleet({ teardown: () => undefined });
    const boxes = [
      await first.enrol('yb-van-yen'),
      await first.enrol('yb-tram-tau'),
      await first.enrol('yb-mu-cang-chai-che-tao'),
    ];
    for (const b of boxes) await connectDevice(t, b);
    await waitFor(() => boxes.every((b) => first.fleet.presence.isOnline(b.deviceId)), 5000, 'all online');
    await first.fleet.close();
    const graceMs = 4000;
    const second = await startTestFleet(t, { startupGraceMs: graceMs }, first.dataDir);
    const startedAt = Date.now();
    const { mqttPort } = second.fleet;
    const on = (b: (typeof boxes)[number]) => ({
      ...b,
      mqtt: { ...b.mqtt, url: `mqtt://127.0.0.1:${mqttPort}` },
    });
    // Two boxes come back, then drop again without a goodbye (a storm's CONNACK too late,
    // a missed keepalive); the third never returns.
    const back = [on(boxes[0]!), on(boxes[1]!)];
    const clients = [];
    for (const b of back) clients.push(await connectDevice(t, b));
    await waitFor(() => back.every((b) => second.fleet.presence.isOnline(b.deviceId)), 5000, 'two back');
    for (const c of clients) c.stream.destroy();
    await waitFor(() => back.every((b) => !second.fleet.presence.isOnline(b.deviceId)), 5000, 'dropped again');
    const open = async (): Promise<AlertBody[]> =>
      (await second.api<{ items: AlertBody[] }>('GET', '/api/v1/alerts?state=open')).body.items;
    // Well past the 300 ms debounce, still inside the grace.
    await new Promise((r) => setTimeout(r, 1000));
    t.ok(Date.now() - startedAt < graceMs, 'still inside the grace');
    t.same(await open(), [], 'no alert for the boxes that dropped again while the grace runs');
    const registry = await second.api<{ online: boolean }>('GET', `/api/v1/devices/${back[0]!.deviceId}`);
    t.equal(registry.body.online, false, 'the registry shows it offline meanwhile');
    // The grace ends: the three still away are one incident, no alert per box.
    const incident = await waitFor(
      async () => (await open()).find((x) => x.type === 'fleet-reconnect'),
      graceMs + 5000,
      'the reconnect incident',
    );
    t.same(
      ((incident as AlertBody & { details: { devices: string[] } }).details.devices ?? []).slice().sort(),
      boxes.map((b) => b.deviceId).sort(),
      'it names the three boxes',
    );
    t.same(
      (await open()).filter((x) => x.type === 'device-offline'),
      [],
      'and there is no device-offline alert',
    );
  },
);
