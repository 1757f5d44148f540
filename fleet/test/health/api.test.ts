// Health alerts inside the real fleet: a device (an MQTT client) reports
// peripherals, self-tests, a help press and telemetry; the alerts API shows
// the right alerts opening and resolving, and the self-test history is kept.
import t from 'tap';
import type { MqttClient } from 'mqtt';
import { deviceTopic, type Peripherals, type PeripheralsReport, type SelfTestResult, type Site } from '@diemcau/shared';
import { connectDevice, startTestFleet, telemetry, waitFor, type TestFleet } from '../helpers/fleet.js';

interface AlertView {
  id: number;
  type: string;
  deviceId: string | null;
  siteId: string | null;
  state: string;
}

const report = (p: Partial<Peripherals>, reasons: PeripheralsReport['reasons'] = {}): PeripheralsReport => ({
  v: 1,
  kind: 'peripherals',
  at: new Date().toISOString(),
  hardware: 'simulated',
  peripherals: { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'ok', ...p },
  reasons,
});

function selfTest(micSilent: boolean, finishedAt = new Date().toISOString()): SelfTestResult {
  return {
    v: 1,
    kind: 'self-test',
    startedAt: new Date(Date.now() - 2000).toISOString(),
    finishedAt,
    hardware: 'simulated',
    ok: !micSilent,
    peripherals: { camera: 'ok', microphone: micSilent ? 'fault' : 'ok', display: 'ok', gpio: 'ok' },
    camera: { state: 'ok', devices: [{ node: '/dev/video0', name: 'sim' }] },
    microphone: {
      state: micSilent ? 'fault' : 'ok',
      ...(micSilent ? { reason: { code: 'silent' as const, message: 'peak -95 dBFS' } } : {}),
      devices: [{ id: 'hw:1,0', name: 'sim' }],
    },
    display: {
      state: 'ok',
      connectors: [{ name: 'HDMI-A-1', status: 'connected', enabled: true, mode: '1920x1080' }],
      power: 'on',
    },
    gpio: { state: 'ok', led: 'online', helpButton: true, tvRelay: false },
  };
}

async function openTypes(f: TestFleet, deviceId: string): Promise<string[]> {
  const r = await f.api<{ items: AlertView[] }>('GET', '/api/v1/alerts?state=open');
  return r.body.items
    .filter((a) => a.deviceId === deviceId)
    .map((a) => a.type)
    .sort();
}

const send = (c: MqttClient, deviceId: string, channel: 'health' | 'events' | 'telemetry', body: unknown) =>
  c.publishAsync(deviceTopic(deviceId, channel), typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });

t.test('faults open the right alerts and fixing them resolves them', async (t) => {
  const f = await startTestFleet(t);
  const sites = (await f.api<{ items: Site[] }>('GET', '/api/v1/sites')).body.items;
  const site = sites.find((s) => s.kind === 'commune')!;
  const box = await f.enrol(site.id);
  const c = await connectDevice(t, box);
  const id = box.deviceId;
  const until = (want: string[], what: string) =>
    waitFor(async () => JSON.stringify(await openTypes(f, id)) === JSON.stringify(want), 5000, what);

  await send(
    c,
    id,
    'health',
    report(
      { camera: 'missing', display: 'fault' },
      {
        camera: { code: 'none-found', message: 'no /dev/video*' },
        display: { code: 'disconnected', message: 'HDMI-A-1 disconnected' },
      },
    ),
  );
  await until(['camera-missing', 'display-disconnected'], 'camera and TV alerts');
  const alerts = (await f.api<{ items: AlertView[] }>('GET', '/api/v1/alerts?state=open')).body.items;
  t.equal(alerts.find((a) => a.type === 'camera-missing')?.siteId, site.id, 'alert names the site');

  await send(
    c,
    id,
    'health',
    report({ display: 'fault' }, { display: { code: 'disconnected', message: 'HDMI-A-1 disconnected' } }),
  );
  await until(['display-disconnected'], 'camera plugged back in');
  await send(c, id, 'health', report({}));
  await until([], 'TV back');

  const silent = selfTest(true);
  await send(c, id, 'health', silent);
  await until(['microphone-silent'], 'silent microphone in the self-test');
  await send(c, id, 'health', report({}));
  await send(c, id, 'health', 'garbage');
  await send(c, id, 'health', selfTest(false));
  await until([], 'self-test passes again');
  await send(c, id, 'health', silent); // a redelivered old result changes nothing
  const history = await f.api<{ items: { result: SelfTestResult }[] }>('GET', `/api/v1/devices/${id}/self-tests`);
  t.equal(history.status, 200);
  t.same(
    history.body.items.map((i) => i.result.ok),
    [true, false],
    'history, newest first, duplicates stored once',
  );
  t.same(await openTypes(f, id), [], 'the redelivered silent result did not reopen the alert');

  await send(c, id, 'telemetry', {
    ...telemetry(1),
    disk: { usedBytes: 95e9, totalBytes: 100e9 },
    cpu: { loadPercent: 50, temperatureC: 91 },
  });
  await until(['disk-nearly-full', 'overheating'], 'disk and heat');
  await send(c, id, 'telemetry', { ...telemetry(2), cpu: { loadPercent: 10, temperatureC: 55 } });
  await until([], 'cleaned up and cooled down');

  await send(c, id, 'events', {
    v: 1,
    kind: 'help-requested',
    id: 'press-1',
    at: new Date().toISOString(),
    source: 'button',
  });
  await send(c, id, 'events', {
    v: 1,
    kind: 'help-requested',
    id: 'press-2',
    at: new Date().toISOString(),
    source: 'button',
  });
  await until(['help-requested'], 'help button');
  const all = (await f.api<{ items: AlertView[] }>('GET', '/api/v1/alerts?state=open')).body.items.filter(
    (a) => a.type === 'help-requested',
  );
  t.equal(all.length, 1, 'two presses, one alert');
  const viewer = await f.api<{ token: string }>('POST', '/api/v1/operators', {
    body: { name: 'Observer', role: 'viewer' },
  });
  t.equal(
    (await f.api('POST', `/api/v1/devices/${id}/help/resolve`, { body: {}, token: viewer.body.token })).status,
    403,
  );
  t.equal((await f.api('POST', `/api/v1/devices/${id}/help/resolve`, { body: {} })).status, 200);
  t.same(await openTypes(f, id), []);
  t.equal(
    (await f.api('POST', `/api/v1/devices/${id}/help/resolve`, { body: {} })).status,
    404,
    'nothing left to resolve',
  );
});
