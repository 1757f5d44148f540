// A fleet node restarts while its boxes keep knocking: the first box let in
// must be counted online and what it sends first handled. The broker used to
// listen as soon as it was built, before presence and the channels' handlers
// were wired: a box let in during the node's own start had its session start
// reach no listener (connected, never counted online: after a cluster's
// reconnect storm, 72 of 10,000) and its first messages acknowledged and
// dropped. Here one box retries every few milliseconds from before the start
// and, once in, sends its birth, a self-test and a sample. Without the fix the
// self-test is lost on every run here (the session's start is lost only when
// its clientReady also lands in the window, which this machine's timing rarely
// gives).
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { deviceTopic } from '@diemcau/shared';
import { connectDevice, presence, selfTest, startTestFleet, telemetry, waitFor } from '../helpers/fleet.js';
import { metricValue } from '../helpers/enrol.js';
import { freePort, startRedis } from '../helpers/redis.js';
import { startPostgres } from '../helpers/postgres.js';

const SITE = 'yb-city';

t.test('a box let in the moment the fleet starts is online and loses nothing', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-fleet-'));
  // A node of a cluster (of one) on PostgreSQL and Redis: its start waits on
  // the network, and its boxes' verified logins are shared in Redis and
  // outlive the node, so a node started again lets a box in within
  // milliseconds of listening, as in a reconnect storm.
  const [redis, postgres] = await Promise.all([startRedis(t), startPostgres(t)]);
  const config = { mqttPort: await freePort(), redisUrl: redis.url, databaseUrl: await postgres.createDatabase() };
  const first = await startTestFleet(t, config, dataDir);
  const creds = await first.enrol(SITE);
  (await connectDevice(t, creds)).end(true);
  await first.fleet.close();

  // The box knocks from before the start, as a box of a restarted fleet does.
  let connections = 0;
  let sent = 0;
  const box = mqtt.connect(`mqtt://127.0.0.1:${config.mqttPort}`, {
    clientId: creds.deviceId,
    username: creds.mqtt.username,
    password: creds.mqtt.password,
    keepalive: 10,
    reconnectPeriod: 5,
    connectTimeout: 5_000,
  });
  t.teardown(() => box.end(true));
  box.on('error', () => undefined); // refused while the fleet starts: it retries
  box.on('connect', () => {
    connections += 1;
    if (connections > 1) return; // the first connection is the one that matters
    void (async () => {
      await box.publishAsync(deviceTopic(creds.deviceId, 'presence'), presence('online'), { qos: 1, retain: true });
      await box.publishAsync(deviceTopic(creds.deviceId, 'health'), JSON.stringify(selfTest()), { qos: 1 });
      await box.publishAsync(deviceTopic(creds.deviceId, 'telemetry'), JSON.stringify(telemetry(1)), { qos: 1 });
      sent = 3;
    })().catch(() => undefined);
  });
  await new Promise((r) => setTimeout(r, 100)); // refused a few times already

  const { api, fleet } = await startTestFleet(t, config, dataDir);
  await waitFor(() => sent === 3, 10_000, 'the box connected and its three messages acknowledged');
  t.equal(connections, 1, 'one connection: the box was never dropped');
  await waitFor(() => fleet.presence.isOnline(creds.deviceId), 10_000, 'the box counted online');
  t.equal(fleet.presence.online, 1);
  await waitFor(
    async () => (await api<{ online: boolean }>('GET', `/api/v1/devices/${creds.deviceId}`)).body.online || undefined,
    10_000,
    'online in the registry',
  );
  await waitFor(
    async () =>
      (await api<{ items: unknown[] }>('GET', `/api/v1/devices/${creds.deviceId}/self-tests`)).body.items.length ===
        1 || undefined,
    10_000,
    'the self-test stored',
  );
  await waitFor(
    async () =>
      (
        await api<{ items: Array<{ seq: number }> }>('GET', `/api/v1/devices/${creds.deviceId}/telemetry`)
      ).body.items.some((s) => s.seq === 1) || undefined,
    10_000,
    'the first sample stored',
  );
  t.equal(
    await metricValue(api, /^diemcau_mqtt_rejected_total\{reason="unhandled-channel".*\} (\d+)/m),
    0,
    'no message reached a channel with no handler yet',
  );
});
