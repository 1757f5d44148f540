import t from 'tap';
import type { EnrolResponse } from '@diemcau/shared';
import { connectDevice, startTestFleet, waitFor } from '../helpers/fleet.js';
import { mqttAttempt } from '../helpers/enrol.js';

// Each box its own identity, checked with real MQTT clients against the real
// broker: a re-imaged box (its serial registered again) is the same device
// with new credentials (the old ones dead at once), a revoked box is cut off within a second, and failed
// guesses from an address never lock out the right password from it.

const metric = async (api: Awaited<ReturnType<typeof startTestFleet>>['api'], line: RegExp): Promise<number> => {
  const res = await api<string>('GET', '/metrics');
  const m = res.body.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
};

const attempt = mqttAttempt;

const asDevice = (creds: EnrolResponse) => ({
  clientId: creds.deviceId,
  username: creds.mqtt.username,
  password: creds.mqtt.password,
});

t.test('a re-imaged box re-enrols by serial as the same device; its old credentials die at once', async (t) => {
  const { api, fleet } = await startTestFleet(t);
  await fleet.repos.enrollment.registerSerial('SN-REIMAGE', 'yb-van-yen');
  const enrol = async () => {
    const r = await api<EnrolResponse>('POST', '/api/v1/enroll', {
      token: null,
      body: { hardware: { serial: 'SN-REIMAGE' } },
    });
    t.equal(r.status, 200);
    return r.body;
  };
  const first = await enrol();
  const oldClient = await connectDevice(t, first);
  const kicked = new Promise<void>((resolve) => oldClient.once('close', () => resolve()));

  // The box was wiped; an operator registers its serial again, and it enrols again.
  t.equal(
    (await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-REIMAGE', siteId: 'yb-van-yen' } })).status,
    201,
  );
  const second = await enrol();
  t.equal(second.deviceId, first.deviceId, 'same device id');
  t.not(second.mqtt.password, first.mqtt.password, 'new credentials');
  await kicked;
  t.pass('the connection on the old credentials was dropped');
  t.match(await attempt(first.mqtt.url, asDevice(first)), /^refused/, 'old credentials refused');
  const newClient = await connectDevice(t, second);
  t.ok(newClient.connected, 'new credentials work');
  const online = await waitFor(async () => {
    const r = await api<{ items: { id: string; serial: string | null; online: boolean }[] }>('GET', '/api/v1/devices');
    const mine = r.body.items.filter((d) => d.serial === 'SN-REIMAGE');
    return mine.length === 1 && mine[0]!.online ? mine : undefined;
  });
  t.equal(online[0]!.id, first.deviceId, 'one device in the registry, online');
});

t.test('a revoked device is disconnected within a second and its credentials refused', async (t) => {
  const { api, enrol } = await startTestFleet(t);
  const a = await enrol('yb-city');
  const client = await connectDevice(t, a);
  let closedAt = 0;
  client.once('close', () => (closedAt = Date.now()));
  const asked = Date.now();
  t.equal((await api('DELETE', `/api/v1/devices/${a.deviceId}`)).status, 204);
  // The bound is the requirement itself (an operator revoking a stolen box), not a performance figure.
  await waitFor(() => closedAt > 0, 1000, 'the revoked device to be disconnected');
  t.ok(closedAt - asked <= 1000, 'kicked within a second');
  t.match(await attempt(a.mqtt.url, asDevice(a)), /^refused/, 'its credentials no longer work');
  t.equal(await metric(api, /^diemcau_mqtt_auth_failures_total\{reason="unknown-device"\}/), 1, 'the retry is counted');
});

t.test('failed guesses at a box password never lock out its right password from the same address', async (t) => {
  // Behind one NAT a bad actor and the good boxes share an address: the
  // throttle is keyed so that a password that verifies is never refused
  // (fleet/src/broker/login-throttle.ts; floods in broker/connections.test.ts).
  const { api, enrol, fleet } = await startTestFleet(t, { mqttMaxFailuresPerMin: 3 });
  const a = await enrol('yb-city');
  const url = a.mqtt.url;
  for (let i = 0; i < 5; i++) {
    t.match(
      await attempt(url, { ...asDevice(a), password: `guess-${i}` }),
      /^refused/,
      `guess ${i} refused by CONNACK`,
    );
  }
  t.equal(await attempt(url, asDevice(a)), 'connected', 'the right credentials from that address still log in');
  t.equal(await metric(api, /^diemcau_mqtt_auth_failures_total\{reason="bad-password"\}/), 5, 'every refusal counted');
  await waitFor(() => fleet.presence.online === 0 || undefined, 5000, 'the probe connection gone');
});

t.test('without a limit (0) failed logins are refused one by one but never throttled', async (t) => {
  const { api, enrol } = await startTestFleet(t, { mqttMaxFailuresPerMin: 0 });
  const a = await enrol('yb-city');
  for (let i = 0; i < 5; i++) await attempt(a.mqtt.url, { ...asDevice(a), password: 'wrong' });
  t.equal(await attempt(a.mqtt.url, asDevice(a)), 'connected');
  t.equal(await metric(api, /^diemcau_mqtt_auth_failures_total\{reason="throttled"\}/), 0);
});
