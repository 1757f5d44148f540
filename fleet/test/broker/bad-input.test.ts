import t from 'tap';
import { deviceTopic } from '@diemcau/shared';
import { connectDevice, startTestFleet, telemetry, waitFor } from '../helpers/fleet.js';
import { closed, connectPacket, firstBytes, publishHeader, rawConnect } from '../helpers/raw-mqtt.js';

const metricsText = async (api: Awaited<ReturnType<typeof startTestFleet>>['api']) =>
  (await api<string>('GET', '/metrics')).body;

t.test('malformed device payloads are rejected with a reason, counted, and the server keeps going', async (t) => {
  const { api, enrol } = await startTestFleet(t);
  const a = await enrol('yb-van-chan');
  const client = await connectDevice(t, a);
  const topic = deviceTopic(a.deviceId, 'telemetry');
  await client.publishAsync(topic, 'not json at all {', { qos: 1 });
  await client.publishAsync(topic, JSON.stringify({ v: 1, seq: 'one' }), { qos: 1 });
  await client.publishAsync(topic, JSON.stringify({ ...telemetry(1), v: 2 }), { qos: 1 });
  await client.publishAsync(deviceTopic(a.deviceId, 'presence'), '{"v":1,"state":"sideways"}', { qos: 1 });
  await client.publishAsync(topic, JSON.stringify(telemetry(5)), { qos: 1 });

  const text = await waitFor(async () => {
    const m = await metricsText(api);
    return m.includes('reason="PROTO_ERR_VERSION"') ? m : undefined;
  });
  t.match(text, /diemcau_mqtt_rejected_total\{reason="PROTO_ERR_NOT_JSON",channel="telemetry"\} 1/);
  t.match(text, /diemcau_mqtt_rejected_total\{reason="PROTO_ERR_SCHEMA",channel="telemetry"\} 1/);
  t.match(text, /diemcau_mqtt_rejected_total\{reason="PROTO_ERR_VERSION",channel="telemetry"\} 1/);
  t.match(text, /diemcau_mqtt_rejected_total\{reason="PROTO_ERR_SCHEMA",channel="presence"\} 1/);
  t.ok(client.connected, 'a bad payload does not cost the device its connection');

  const samples = await waitFor(async () => {
    const r = await api<{ items: { seq: number }[] }>('GET', `/api/v1/devices/${a.deviceId}/telemetry`);
    return r.body.items.length > 0 ? r.body.items : undefined;
  });
  t.same(
    samples.map((s) => s.seq),
    [5],
    'only the valid sample is stored',
  );
  t.equal((await api('GET', '/healthz', { token: null })).status, 200);
});

t.test('an oversized packet closes that connection before it is buffered, and is counted', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t, { maxPacketBytes: 4096 });
  const a = await enrol('yb-van-chan');
  const sock = await rawConnect(fleet.mqttPort);
  const connack = firstBytes(sock);
  sock.write(connectPacket({ clientId: a.deviceId, username: a.deviceId, password: a.mqtt.password, keepalive: 30 }));
  t.same([...(await connack)], [0x20, 0x02, 0x00, 0x00], 'connected');
  // Announce 100 MB; send only the header. The broker must not wait for the rest.
  sock.write(publishHeader(deviceTopic(a.deviceId, 'telemetry'), 100 * 1024 * 1024));
  await closed(sock);
  t.match(await metricsText(api), /diemcau_mqtt_oversize_packets_total 1/);
  // And the broker still serves others.
  const b = await enrol('yb-van-chan');
  const client = await connectDevice(t, b);
  t.ok(client.connected);
});

t.test('bad HTTP bodies get { code, message } and are counted', async (t) => {
  const { api } = await startTestFleet(t);
  const r1 = await api<{ code: string; message: string }>('POST', '/api/v1/enroll', {
    body: { hardware: 'nope' },
    token: null,
  });
  t.equal(r1.status, 400);
  t.equal(r1.body.code, 'FLEET_ERR_BAD_REQUEST');
  t.type(r1.body.message, 'string');
  const r2 = await api<{ code: string }>('POST', '/api/v1/sites/no-such-site/enrollment-tokens', { body: {} });
  t.equal(r2.status, 404);
  t.equal(r2.body.code, 'FLEET_ERR_UNKNOWN_SITE');
  const r3 = await api<{ code: string }>('GET', '/api/v1/devices/dev-unknown');
  t.equal(r3.body.code, 'FLEET_ERR_UNKNOWN_DEVICE');
  const r4 = await api<{ code: string }>('GET', '/api/v1/nothing-here');
  t.equal(r4.status, 404);
  t.equal(r4.body.code, 'FLEET_ERR_NOT_FOUND');
  t.match(await metricsText(api), /diemcau_http_rejected_total\{code="FLEET_ERR_BAD_REQUEST"\} 1/);
});
