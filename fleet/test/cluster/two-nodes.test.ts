// Two fleet nodes in one process on one Redis (and, until the PostgreSQL
// store lands, one SQLite file): the broker joined through Redis, presence
// from every node, one leader, the live feed from every node, retained state
// that outlives the nodes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import mqtt from 'mqtt';
import { Redis } from 'ioredis';
import { deviceTopic } from '@diemcau/shared';
import type { Fleet } from '../../src/app.js';
import { ADMIN_TOKEN, connectDevice, waitFor } from '../helpers/fleet.js';
import { readEvents } from '../helpers/events.js';
import { startRedis } from '../helpers/redis.js';
import { at, enrol, startNode } from '../helpers/in-process-nodes.js';

t.test('two nodes on one Redis act as one fleet', async (t) => {
  const redis = await startRedis(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-cluster-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const a = await startNode(t, redis.url, dataDir, 'node-a');
  const b = await startNode(t, redis.url, dataDir, 'node-b');

  await waitFor(() => a.leadership.isLeader !== b.leadership.isLeader, 5000, 'one leader');
  t.pass('exactly one node leads');

  const box = await enrol(a, 'yb-city');
  const feed = readEvents(`http://127.0.0.1:${a.httpPort}`, ADMIN_TOKEN);
  t.teardown(() => feed.stop());
  const client = await connectDevice(t, at(b, box));
  await waitFor(
    () => a.presence.isOnline(box.deviceId) && b.presence.isOnline(box.deviceId),
    5000,
    'online on both nodes',
  );
  t.equal(a.presence.online, 1);
  t.equal(b.presence.online, 1);
  await waitFor(
    () => feed.events.some((e) => e.type === 'presence' && e.deviceId === box.deviceId && e.online),
    5000,
    "the box's presence (decided by the leader) in node A's live feed",
  );

  // A message published on node A reaches the box on node B.
  await client.subscribeAsync(deviceTopic(box.deviceId, 'commands'), { qos: 1 });
  const got = new Promise<string>((resolve) =>
    client.on('message', (topic, payload) => topic.endsWith('/commands') && resolve(payload.toString())),
  );
  await a.broker.publish(deviceTopic(box.deviceId, 'commands'), '{"probe":1}', { qos: 1 });
  t.equal(await got, '{"probe":1}', 'delivered across nodes');

  // Retained state outlives the node that took it, and a full restart.
  await a.broker.publish(deviceTopic(box.deviceId, 'desired'), '{"release":"r1"}', { qos: 1, retain: true });
  await a.close();
  await waitFor(() => b.leadership.isLeader, 5000, 'node B takes the lead');
  t.ok(b.presence.isOnline(box.deviceId), 'the box on node B stays online');
  // A graceful stop is no outage: past the node timeout, node A is gone without an alert.
  const r = new Redis(redis.url);
  t.teardown(() => r.disconnect());
  await waitFor(
    async () => (await r.hkeys('diemcau:nodes')).every((n) => !n.startsWith('node-a')),
    10_000,
    'node A forgotten by the leader',
  );
  t.same(
    await b.alerts.list({ state: 'open', type: 'fleet-node-down' }),
    [],
    'no alert for a node that stopped gracefully',
  );
  const retained = async (fleet: Fleet): Promise<string> => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${fleet.mqttPort}`, {
      clientId: box.deviceId,
      username: box.mqtt.username,
      password: box.mqtt.password,
      reconnectPeriod: 0,
    });
    t.teardown(() => c.end(true));
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    const msg = new Promise<string>((resolve) =>
      c.on('message', (topic, payload) => topic.endsWith('/desired') && resolve(payload.toString())),
    );
    await c.subscribeAsync(deviceTopic(box.deviceId, 'desired'), { qos: 1 });
    const v = await msg;
    c.end(true);
    return v;
  };
  t.equal(await retained(b), '{"release":"r1"}', 'node B serves what node A retained');
  client.end(true);
  await b.close();
  const c = await startNode(t, redis.url, dataDir, 'node-c');
  t.equal(await retained(c), '{"release":"r1"}', 'a fresh node after a full restart serves it too');
});
