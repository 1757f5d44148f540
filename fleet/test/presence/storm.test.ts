// Presence after a collapsed reconnect storm: hundreds of real MQTT clients
// connect, send their birth and drop at once, over and over, with takeovers of
// sessions that are still closing. When the storm is over the fleet's online
// count must equal what the broker really holds, whatever order aedes reported
// the connects, births and closes in.
import t from 'tap';
import mqtt, { type MqttClient } from 'mqtt';
import { DEVICE_SUBSCRIBE, deviceTopic, type EnrolResponse } from '@diemcau/shared';
import { presence, startTestFleet, waitFor } from '../helpers/fleet.js';
import { RawClient } from '../broker/raw-client.js';

const DEVICES = Number(process.env.STORM_DEVICES ?? 300);
const ROUNDS = 3;
/** Devices left connected after the storm, to check a count that is not zero. */
const KEEP = Math.floor(DEVICES * 0.4);

const STORM_LIMITS = {
  // Every box behind one address (127.0.0.1), logging in many times a minute: the storm, not abuse.
  mqttMaxConnectionsPerAddress: 0,
  mqttMaxLoginsPerDevicePerMin: 0,
  mqttSlowAfterRefusalsPerSec: 0,
  mqttMaxFailedIdsPerAddress: 0,
};

function connect(port: number, d: EnrolResponse): MqttClient {
  return track(
    mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      clientId: d.deviceId,
      username: d.mqtt.username,
      password: d.mqtt.password,
      keepalive: 30,
      reconnectPeriod: 0,
      connectTimeout: 20_000,
      will: {
        topic: deviceTopic(d.deviceId, 'presence'),
        payload: Buffer.from(presence('offline')),
        qos: 1,
        retain: true,
      },
    }),
  );
}

/** Resolves when the client is connected, or closed without getting there. */
const settled = (c: MqttClient): Promise<boolean> =>
  new Promise((resolve) => {
    c.once('connect', () => resolve(true));
    c.once('close', () => resolve(false));
    c.on('error', () => undefined);
  });

/** What the agent does on every connect: its three subscriptions, then its retained birth. */
async function setUp(c: MqttClient, d: EnrolResponse): Promise<void> {
  await c.subscribeAsync(
    DEVICE_SUBSCRIBE.map((ch) => deviceTopic(d.deviceId, ch)),
    { qos: 1 },
  );
  await c.publishAsync(deviceTopic(d.deviceId, 'presence'), presence('online', { agentVersion: '0.1.0' }), {
    qos: 1,
    retain: true,
  });
}

const login = (d: EnrolResponse) => ({
  clientId: d.deviceId,
  username: d.mqtt.username,
  password: Buffer.from(d.mqtt.password),
  keepalive: 30,
  will: {
    topic: deviceTopic(d.deviceId, 'presence'),
    payload: Buffer.from(presence('offline')),
    qos: 1 as const,
    retain: true,
  },
});

/** The agent's set-up, packet by packet: SUBSCRIBE, then the birth at QoS 1. */
async function rawSetUp(c: RawClient, d: EnrolResponse): Promise<void> {
  c.send({
    cmd: 'subscribe',
    messageId: 1,
    subscriptions: DEVICE_SUBSCRIBE.map((ch) => ({ topic: deviceTopic(d.deviceId, ch), qos: 1 as const })),
  });
  await c.next('suback', 20_000);
  c.send({
    cmd: 'publish',
    messageId: 2,
    topic: deviceTopic(d.deviceId, 'presence'),
    payload: Buffer.from(presence('online', { agentVersion: '0.1.0' })),
    qos: 1,
    retain: true,
    dup: false,
  });
  await c.next('puback', 20_000);
}

function track(c: MqttClient): MqttClient {
  (c as MqttClient & { closedOnce?: Promise<void> }).closedOnce = new Promise((resolve) =>
    c.once('close', () => resolve()),
  );
  return c;
}

t.test('after a collapsed reconnect storm the online count is what the broker holds', async (t) => {
  const { fleet, enrol } = await startTestFleet(t, { ...STORM_LIMITS, offlineDebounceMs: 200 });
  const sites = (await fleet.repos.sites.list()).map((s) => s.id);
  const boxes: EnrolResponse[] = [];
  for (let i = 0; i < DEVICES; i++) boxes.push(await enrol(sites[i % sites.length]!));
  t.comment(`enrolled ${DEVICES}`);
  const live = new Set<MqttClient>();
  const raw = new Set<RawClient>();
  t.teardown(() => {
    for (const c of live) c.end(true);
    for (const c of raw) c.close();
  });

  for (let round = 0; round < ROUNDS; round++) {
    // Each box: a connection that sends its birth and is cut the moment it is
    // written (a link that collapses under the storm), and a second one for
    // the same box that takes over while the first may still be closing.
    await Promise.all(
      boxes.map(async (d) => {
        const first = await RawClient.open(fleet.mqttPort);
        raw.add(first);
        if ((await first.login(login(d), 20_000)) !== 0) return;
        await rawSetUp(first, d);
        // The link collapses and the box is straight back: its new CONNECT
        // reaches the broker together with the old connection's end.
        const second = await RawClient.open(fleet.mqttPort);
        raw.add(second);
        first.close();
        if ((await second.login(login(d), 20_000)) === 0) await rawSetUp(second, d);
        second.close();
      }),
    );
    await Promise.all([...raw].map((c) => c.closed));
    raw.clear();
    t.comment(`round ${round + 1}: online ${fleet.presence.online}`);
  }

  // What the broker holds: devices with an open, acknowledged connection.
  const brokerHolds = (): number => fleet.broker.sessionCount;
  await waitFor(() => brokerHolds() === 0, 20_000, 'the broker to hold no box');
  // Births and closes still in aedes' pipeline land within a moment.
  await waitFor(() => fleet.presence.online === 0, 5000, 'presence to count 0').catch(() => undefined);
  t.equal(fleet.presence.online, 0, 'with every box cut, none counts as online');

  // Some boxes come back for good.
  const kept = boxes.slice(0, KEEP).map((d) => {
    const c = connect(fleet.mqttPort, d);
    live.add(c);
    return settled(c).then(
      async (ok) =>
        ok &&
        (await setUp(c, d).then(
          () => true,
          () => false,
        )),
    );
  });
  t.equal((await Promise.all(kept)).filter(Boolean).length, KEEP, 'the kept boxes are connected');

  await waitFor(() => brokerHolds() === KEEP, 20_000, 'the broker to hold only the kept boxes');
  // Births and closes still in aedes' pipeline land within a moment; then nothing may move any more.
  await waitFor(() => fleet.presence.online === KEEP, 20_000, `presence to count ${KEEP}`).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(fleet.presence.online, brokerHolds(), 'presence counts what the broker holds');
  t.equal(fleet.presence.online, KEEP);
  const onlineIds = boxes.filter((d) => fleet.presence.isOnline(d.deviceId)).map((d) => d.deviceId);
  t.same(
    onlineIds.sort(),
    boxes
      .slice(0, KEEP)
      .map((d) => d.deviceId)
      .sort(),
    'exactly the kept boxes are online',
  );
  await fleet.presence.idle();
  const stored = (await fleet.repos.devices.list()).filter((d) => d.online).length;
  t.equal(stored, KEEP, 'the registry says the same');
});
