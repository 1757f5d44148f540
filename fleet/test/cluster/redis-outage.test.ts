// Redis goes away under a running cluster node and comes back. The node must
// live through it: mqemitter-redis re-emits its connections' errors on an
// emitter nobody listened to, and aedes pipes the retained messages it reads
// for a SUBSCRIBE without listening for the read's failure; either ended the
// process at the first refused reconnect or failed read. The node counts the
// failures, once Redis answers again a command reaches a box through it, and
// it stops even while Redis is down.
import t from 'tap';
import { BROKERS_TOPIC, deviceTopic } from '@diemcau/shared';
import type { Fleet } from '../../src/app.js';
import { connectDevice, startTestFleet, waitFor } from '../helpers/fleet.js';
import { startRedis } from '../helpers/redis.js';

async function redisErrors(fleet: Fleet, part: string): Promise<number> {
  const metric = await fleet.metrics.registry.getSingleMetric('diemcau_redis_errors_total')?.get();
  return metric?.values.find((v) => v.labels.part === part)?.value ?? 0;
}

t.test('a cluster node lives through a Redis outage and serves its boxes when Redis is back', async (t) => {
  const redis = await startRedis(t);
  const { fleet, api, enrol } = await startTestFleet(t, { redisUrl: redis.url, nodeId: 'node-a' });
  const box = await enrol('yb-city');
  const creds = { ...box, mqtt: { ...box.mqtt, url: `mqtt://127.0.0.1:${fleet.mqttPort}` } };
  const first = await connectDevice(t, creds);
  first.on('error', () => undefined);

  await redis.kill();
  // The retained list is read from Redis for this SUBSCRIBE: the read waits
  // for Redis through ioredis' retries, then fails.
  first.subscribe(BROKERS_TOPIC, { qos: 1 }, () => undefined);
  await waitFor(async () => (await redisErrors(fleet, 'messages')) > 0, 30_000, 'the relay counts its failures');
  // ioredis gives a command up after 20 failed reconnects (about 10 s of backoff).
  await waitFor(async () => (await redisErrors(fleet, 'persistence')) > 20, 60_000, 'the persistence gives up');
  t.pass('the node is still running after its Redis refused every reconnect');

  await redis.restart();
  t.equal((await api('GET', '/healthz')).status, 200, 'the node answers');
  const box2 = await waitFor(
    async () => {
      const c = await connectDevice(t, creds, { birth: false }).catch(() => undefined);
      c?.on('error', () => undefined);
      return c;
    },
    30_000,
    'the box connects again',
  );
  const heard = new Promise<string>((resolve) => box2.on('message', (topic) => resolve(topic)));
  await waitFor(
    () =>
      box2
        .subscribeAsync(deviceTopic(box.deviceId, 'commands'), { qos: 1 })
        .then(() => true)
        .catch(() => false),
    30_000,
    'subscribed through the node again',
  );
  const sent = await api('POST', `/api/v1/devices/${box.deviceId}/commands`, { body: { type: 'identify' } });
  t.equal(sent.status, 202, 'the command is accepted');
  t.equal(await heard, deviceTopic(box.deviceId, 'commands'), 'a command reaches the box through Redis again');

  // Redis gone again with messages waiting for it: the node still stops.
  await redis.kill();
  box2.publish(deviceTopic(box.deviceId, 'telemetry'), '{}', { qos: 0 });
  await fleet.close();
  t.pass('the node stopped while its Redis was down');
});
