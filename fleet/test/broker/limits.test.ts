// What one box, with its own valid credentials, can make the broker hold:
// QoS 2 messages awaiting a PUBREL that never comes, persistent sessions that
// outlive the box, retained messages, wills. Each is refused before anything
// is stored, counted and logged, and the box can come back and work normally.
import t from 'tap';
import { deviceTopic, type EnrolResponse } from '@diemcau/shared';
import { connectDevice, presence, startTestFleet, telemetry, type TestFleet } from '../helpers/fleet.js';
import type { MqttClient } from 'mqtt';
import { RawClient } from './raw-client.js';

const metric = async (api: TestFleet['api'], line: RegExp): Promise<number> => {
  const res = await api<string>('GET', '/metrics');
  const m = res.body.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
};

const creds = (a: EnrolResponse) => ({
  clientId: a.deviceId,
  username: a.deviceId,
  password: Buffer.from(a.mqtt.password),
});

async function open(t: { teardown(fn: () => unknown): void }, fleet: TestFleet['fleet']): Promise<RawClient> {
  const c = await RawClient.open(fleet.mqttPort);
  t.teardown(() => c.close());
  return c;
}

/** Resolves true when the broker hung up within the time, false otherwise. */
const hangsUp = (c: RawClient, ms = 5000): Promise<boolean> =>
  Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

/** Resolves true when the broker closed the mqtt.js client within the time. */
const dropped = (c: MqttClient, ms = 5000): Promise<boolean> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    c.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });

/** The part of aedes' store these tests look into (aedes-persistence's typings predate its promises). */
interface Store {
  incomingGetPacket(client: { id: string }, packet: { messageId: number }): Promise<unknown>;
  createRetainedStream(pattern: string): AsyncIterable<{ payload: Buffer }>;
}
const store = (fleet: TestFleet['fleet']): Store =>
  (fleet.broker.aedes as unknown as { persistence: Store }).persistence;

/** The retained messages the broker holds for one exact topic. */
async function retained(fleet: TestFleet['fleet'], topic: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const p of store(fleet).createRetainedStream(topic)) out.push(p.payload);
  return out;
}

t.test('QoS 2 without PUBREL: refused at the first such publish, nothing stored, counted', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t);
  const a = await enrol('yb-city');
  const c = await open(t, fleet);
  t.equal(await c.login(creds(a)), 0, 'the box logs in with its own credentials');
  const topic = deviceTopic(a.deviceId, 'telemetry');
  for (let id = 1; id <= 50; id++) {
    c.send({
      cmd: 'publish',
      topic,
      payload: Buffer.alloc(4096, 0x20),
      qos: 2,
      messageId: id,
      retain: false,
      dup: false,
    });
  }
  t.ok(await hangsUp(c), 'the connection is closed');
  t.equal(c.received.filter((p) => p.cmd === 'pubrec').length, 0, 'no PUBREC: the broker never took one in');
  for (const messageId of [1, 50]) {
    await t.rejects(
      store(fleet).incomingGetPacket({ id: a.deviceId }, { messageId }),
      `message ${messageId} is not held for a PUBREL`,
    );
  }
  t.ok((await metric(api, /^diemcau_mqtt_limits_total\{limit="qos2"\}/)) >= 1, 'counted');
  const box = await connectDevice(t, a);
  await box.publishAsync(topic, JSON.stringify(telemetry(1)), { qos: 1 });
  t.ok(box.connected, 'the box comes back and works at QoS 1');
});

t.test('a persistent session is refused: nothing a box leaves can outlive its connection', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t);
  const a = await enrol('yb-city');
  const c = await open(t, fleet);
  t.equal(await c.login({ ...creds(a), clean: false }), 5, 'CONNACK: not authorized');
  t.equal(await metric(api, /^diemcau_mqtt_auth_failures_total\{reason="persistent-session"\}/), 1, 'counted');
  const box = await connectDevice(t, a);
  t.ok(box.connected, 'the same box with a clean session is welcome');
});

t.test('retained messages: only on its own presence, and small', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t, { mqttMaxRetainedBytes: 2048 });
  const a = await enrol('yb-city');
  const telemetryTopic = deviceTopic(a.deviceId, 'telemetry');
  const presenceTopic = deviceTopic(a.deviceId, 'presence');

  const box = await connectDevice(t, a);
  const gone = dropped(box);
  box.publish(telemetryTopic, JSON.stringify(telemetry(1)), { qos: 1, retain: true });
  t.ok(await gone, 'the box is disconnected');
  t.same(await retained(fleet, telemetryTopic), [], 'nothing retained on telemetry');
  t.equal(await metric(api, /^diemcau_mqtt_limits_total\{limit="retain-topic"\}/), 1);

  const again = await connectDevice(t, a);
  const birth = (await retained(fleet, presenceTopic))[0]?.toString();
  t.match(birth, /"online"/, 'the birth is retained');
  const gone2 = dropped(again);
  again.publish(presenceTopic, presence('online', { os: 'x'.repeat(190) }).padEnd(4096, ' '), { qos: 1, retain: true });
  t.ok(await gone2, 'the box is disconnected');
  // What is retained now is the box's will ("offline"), not the oversized message.
  t.match(
    (await retained(fleet, presenceTopic))[0]?.toString(),
    /"offline"/,
    'the oversized presence was not retained',
  );
  t.equal(await metric(api, /^diemcau_mqtt_limits_total\{limit="retained-bytes"\}/), 1);
});

t.test('a will goes by the publish rules: own presence, QoS 0/1, small', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t, { mqttMaxRetainedBytes: 2048 });
  const a = await enrol('yb-city');
  const b = await enrol('yb-city');
  const wills = [
    { topic: deviceTopic(b.deviceId, 'presence'), payload: presence('offline'), qos: 1 as const, retain: true },
    { topic: deviceTopic(a.deviceId, 'telemetry'), payload: presence('offline'), qos: 1 as const, retain: true },
    { topic: deviceTopic(a.deviceId, 'presence'), payload: presence('offline'), qos: 2 as const, retain: true },
    {
      topic: deviceTopic(a.deviceId, 'presence'),
      payload: presence('offline').padEnd(4096, ' '),
      qos: 1 as const,
      retain: true,
    },
  ];
  for (const will of wills) {
    const c = await open(t, fleet);
    t.equal(
      await c.login({ ...creds(a), will }),
      5,
      `refused: ${will.topic.split('/').slice(3).join('/')} qos ${will.qos} ${will.payload.length} bytes`,
    );
  }
  t.equal(await metric(api, /^diemcau_mqtt_auth_failures_total\{reason="bad-will"\}/), wills.length, 'counted');
  const ok = await open(t, fleet);
  t.equal(
    await ok.login({
      ...creds(a),
      will: { topic: deviceTopic(a.deviceId, 'presence'), payload: presence('offline'), qos: 1, retain: true },
    }),
    0,
    "the agent's will is fine",
  );
});

t.test('a box logging in over and over is refused for the rest of the minute; other boxes are not', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t, { mqttMaxLoginsPerDevicePerMin: 3 });
  const a = await enrol('yb-city');
  const b = await enrol('yb-city');
  for (let i = 0; i < 3; i++) {
    const c = await open(t, fleet);
    t.equal(await c.login(creds(a)), 0, `login ${i + 1}`);
    c.close();
  }
  const c = await open(t, fleet);
  t.equal(await c.login(creds(a)), 5, 'the fourth in a minute: not authorized');
  t.equal(await metric(api, /^diemcau_mqtt_limits_total\{limit="login-rate"\}/), 1, 'counted');
  const other = await open(t, fleet);
  t.equal(await other.login(creds(b)), 0, 'another box from the same address logs in');
});

t.test('a QoS 2 PUBLISH is cut at its first byte: its body is never read into the broker', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t);
  const a = await enrol('yb-city');
  const c = await open(t, fleet);
  t.equal(await c.login(creds(a)), 0);
  // Only the fixed header and the topic of a QoS 2 PUBLISH announcing 200 KiB: a broker that
  // waited for the body (to parse, then refuse it) would keep this connection open.
  const topic = Buffer.from(deviceTopic(a.deviceId, 'telemetry'));
  const len = 2 + topic.length + 2 + 200 * 1024;
  const header = [0x34];
  for (let n = len; ;) {
    const byte = n % 128;
    n = Math.floor(n / 128);
    header.push(n > 0 ? byte | 0x80 : byte);
    if (n === 0) break;
  }
  c.socket.write(Buffer.concat([Buffer.from(header), Buffer.from([0, topic.length]), topic, Buffer.from([0, 1])]));
  t.ok(await hangsUp(c), 'closed without the body');
  t.equal(await metric(api, /^diemcau_mqtt_limits_total\{limit="qos2"\}/), 1, 'counted');
});

t.test('at the cap of logins under way, new ones are told "server unavailable", then served', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t, { mqttMaxPendingLogins: 2 });
  const [a, b, c] = [await enrol('yb-city'), await enrol('yb-city'), await enrol('yb-city')];
  // Connections that have not sent their CONNECT owe the node no work: they do not count.
  const idle = [await open(t, fleet), await open(t, fleet), await open(t, fleet)];
  const early = await open(t, fleet);
  t.equal(await early.login(creds(c)), 0, 'served beside connections that never logged in');
  early.close();
  await early.closed;
  // The registry held by a transaction: two logins wait for their credentials.
  let release!: () => void;
  const held = fleet.db.tx(() => new Promise<void>((resolve) => (release = resolve)));
  const first = await open(t, fleet);
  const second = await open(t, fleet);
  const waiting = [first.login(creds(a), 15_000), second.login(creds(b), 15_000)];
  // Both read and waiting on the registry before the third comes. (The gauge
  // is read in process: /metrics would wait on the held registry too.)
  const gauge = fleet.metrics.registry.getSingleMetric('diemcau_mqtt_logins_pending')!;
  const pending = async (): Promise<number> => (await gauge.get()).values[0]?.value ?? 0;
  for (let i = 0; i < 100 && (await pending()) < 2; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(await pending(), 2, 'two logins under way, as the metric says');
  const busy = await open(t, fleet);
  t.equal(await busy.login(creds(c), 2000), 3, 'a third good login is refused as server unavailable');
  t.equal(
    await Promise.race([
      Promise.all(waiting).then(() => 'answered'),
      new Promise((r) => setTimeout(() => r('waiting'), 300)),
    ]),
    'waiting',
    'the two under way are not answered while the registry is held',
  );
  release();
  await held;
  t.same(await Promise.all(waiting), [0, 0], 'the two under way are served once the registry answers');
  t.equal(await metric(api, /^diemcau_mqtt_limits_total\{limit="pending-logins"\}/), 1, 'counted once');
  t.equal(await metric(api, /^diemcau_mqtt_auth_failures_total\{reason="busy"\}/), 1);
  for (const i of idle) i.close();
  const served = await open(t, fleet);
  t.equal(await served.login(creds(c)), 0, 'once the node caught up, the box is served');
});
