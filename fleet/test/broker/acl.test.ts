import t from 'tap';
import mqtt from 'mqtt';
import { deviceTopic } from '@diemcau/shared';
import { connectDevice, startTestFleet, telemetry, waitFor } from '../helpers/fleet.js';

const metric = async (api: Awaited<ReturnType<typeof startTestFleet>>['api'], line: RegExp): Promise<number> => {
  const res = await api<string>('GET', '/metrics');
  const m = res.body.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
};

t.test('a device cannot publish or subscribe under another device', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t);
  const a = await enrol('yb-city');
  const b = await enrol('yb-luc-yen');
  const clientB = await connectDevice(t, b);
  const clientA = await connectDevice(t, a);

  // A subscribes to B's commands: refused with a negative SUBACK.
  await t.rejects(
    clientA.subscribeAsync(deviceTopic(b.deviceId, 'commands'), { qos: 1 }),
    { message: /Subscribe error/ },
    'subscription refused (SUBACK 0x80)',
  );
  let leaked = 0;
  clientA.on('message', () => leaked++);
  await fleet.broker.publish(deviceTopic(b.deviceId, 'commands'), '{"for":"b"}');

  // A publishes telemetry as B: refused, and A is disconnected for trying.
  const gone = new Promise<void>((resolve) => clientA.once('close', () => resolve()));
  clientA.publish(deviceTopic(b.deviceId, 'telemetry'), JSON.stringify(telemetry(1)), { qos: 1 });
  await gone;
  // B itself still works, and its telemetry is only its own.
  await clientB.publishAsync(deviceTopic(b.deviceId, 'telemetry'), JSON.stringify(telemetry(7)), { qos: 1 });
  const samples = await waitFor(async () => {
    const r = await api<{ items: { seq: number }[] }>('GET', `/api/v1/devices/${b.deviceId}/telemetry`);
    return r.body.items.length > 0 ? r.body.items : undefined;
  });
  t.same(
    samples.map((s) => s.seq),
    [7],
    'nothing from A got through',
  );
  t.equal(leaked, 0, 'A heard nothing for B');
  t.ok((await metric(api, /^diemcau_mqtt_acl_denied_total\{kind="publish"\}/)) >= 1, 'publish denial counted');
  t.ok((await metric(api, /^diemcau_mqtt_acl_denied_total\{kind="subscribe"\}/)) >= 1, 'subscribe denial counted');
});

t.test('anonymous, wrong password, unknown device and borrowed client ids are refused and counted', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t);
  const a = await enrol('yb-city');
  const url = a.mqtt.url;
  const attempt = (opts: mqtt.IClientOptions) =>
    new Promise<string>((resolve) => {
      const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
      c.once('connect', () => {
        c.end(true);
        resolve('connected');
      });
      c.once('error', (err) => {
        c.end(true);
        resolve(
          (err as Error & { code?: number }).code === undefined
            ? err.message
            : `code ${(err as { code?: number }).code}`,
        );
      });
    });
  t.not(await attempt({ clientId: 'anon' }), 'connected', 'anonymous');
  t.not(
    await attempt({ clientId: a.deviceId, username: a.deviceId, password: 'wrong-password' }),
    'connected',
    'wrong password',
  );
  t.not(await attempt({ clientId: 'dev-none', username: 'dev-none', password: 'x' }), 'connected', 'unknown device');
  t.not(
    await attempt({ clientId: 'other', username: a.deviceId, password: a.mqtt.password }),
    'connected',
    'client id must be the device id',
  );
  t.equal(fleet.presence.online, 0, 'refused clients never counted as online');
  t.equal(
    await attempt({ clientId: a.deviceId, username: a.deviceId, password: a.mqtt.password }),
    'connected',
    'the right credentials work',
  );
  for (const reason of ['anonymous', 'bad-password', 'unknown-device', 'client-id-mismatch']) {
    t.equal(await metric(api, new RegExp(`^diemcau_mqtt_auth_failures_total\\{reason="${reason}"\\}`)), 1, reason);
  }
});

t.test('a revoked device is disconnected and cannot come back', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t);
  const a = await enrol('yb-city');
  const client = await connectDevice(t, a);
  const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const res = await api('DELETE', `/api/v1/devices/${a.deviceId}`);
  t.equal(res.status, 204);
  await gone;
  await t.rejects(connectDevice(t, a), 'credentials no longer work');
  t.equal(fleet.presence.online, 0);
  // Well past the offline debounce: a revoked box is gone on purpose, not an outage.
  await new Promise((r) => setTimeout(r, 1000));
  t.same((await api<{ items: unknown[] }>('GET', '/api/v1/alerts')).body.items, [], 'no device-offline alert');
  t.equal((await api('GET', `/api/v1/devices/${a.deviceId}`)).status, 404);
});

t.test(
  "a dead node's will (no client here) is judged as its own device's publish, never refused for lack of a client",
  async (t) => {
    // aedes publishes the wills of sessions that died with another node with no client, and
    // leaves a refusal unhandled: the node ends. It hands over the client id the will was stored under.
    const { enrol, fleet } = await startTestFleet(t);
    const a = await enrol('yb-city');
    const b = await enrol('yb-luc-yen');
    const authorize = (packet: object): Promise<Error | null> =>
      new Promise((resolve) =>
        fleet.broker.aedes.authorizePublish!(null as never, packet as never, (err) => resolve(err ?? null)),
      );
    const will = (owner: string, topicOf: string) => ({
      cmd: 'publish',
      topic: deviceTopic(topicOf, 'presence'),
      payload: Buffer.from('{"v":1,"state":"offline"}'),
      qos: 1,
      retain: true,
      dup: false,
      clientId: owner,
      brokerId: 'node-gone',
    });
    t.equal(await authorize(will(a.deviceId, a.deviceId)), null, 'its own presence will: published');
    t.match(
      await authorize(will(a.deviceId, b.deviceId)),
      /publish refused: acl/,
      "a will on another device's topic: refused",
    );
    t.match(
      await authorize({ ...will(a.deviceId, a.deviceId), clientId: undefined }),
      /publish refused: acl/,
      'no client and no owner: refused',
    );
  },
);
