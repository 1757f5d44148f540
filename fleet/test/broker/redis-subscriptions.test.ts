// The cluster broker's topic subscriptions in Redis (broker/redis-backend.ts):
// the SUBSCRIBE and UNSUBSCRIBE asked for in one turn of the event loop go
// out as few commands, in the order asked, against a real Redis.
import t from 'tap';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { redisBackend } from '../../src/broker/redis-backend.js';
import { startRedis } from '../helpers/redis.js';

const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Packet = { topic: string; payload: Buffer };
type Listener = (packet: Packet, cb: () => void) => void;
interface Emitter {
  on(topic: string, fn: Listener, done?: () => void): void;
  removeListener(topic: string, fn: Listener, done?: () => void): void;
  emit(packet: Packet, done?: (err?: Error) => void): void;
}

t.test('many topics at once: few commands, each topic subscribed, the last word on a topic wins', async (t) => {
  const redis = await startRedis(t);
  const admin = new Redis(redis.url);
  t.teardown(() => admin.disconnect());
  const node = redisBackend(redis.url, { log, registry: new Registry() });
  const other = redisBackend(redis.url, { log, registry: new Registry() });
  const mq = node.mq as unknown as Emitter;
  t.teardown(() => {
    node.cut();
    other.cut();
  });
  await sleep(200);
  await admin.config('RESETSTAT');

  const got: string[] = [];
  const listener: Listener = (p, cb) => {
    got.push(p.topic);
    cb();
  };
  const topics = Array.from({ length: 500 }, (_, i) => `diemcau/v1/devices/dev-${i}/commands`);
  let acked = 0;
  for (const topic of topics) mq.on(topic, listener, () => acked++);
  // In the same turn: one topic dropped again, another dropped and taken again.
  mq.removeListener(topics[0]!, listener);
  mq.on('diemcau/v1/devices/late/commands', listener);
  mq.removeListener('diemcau/v1/devices/late/commands', listener);
  mq.on('diemcau/v1/devices/late/commands', listener);
  for (let i = 0; i < 50 && acked < topics.length; i++) await sleep(100);
  t.equal(acked, topics.length, 'every subscription is acknowledged');

  const stats = await admin.info('commandstats');
  const calls = (name: string): number => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  t.ok(calls('subscribe') <= 3, `SUBSCRIBE sent ${calls('subscribe')} times for 502 asks`);
  t.ok(calls('unsubscribe') <= 2, `UNSUBSCRIBE sent ${calls('unsubscribe')} times for 2 asks`);

  const numsub = async (topic: string): Promise<number> =>
    Number(((await admin.call('PUBSUB', 'NUMSUB', topic)) as [string, number])[1]);
  t.equal(await numsub(topics[0]!), 0, 'the topic dropped in the same turn is not subscribed');
  t.equal(await numsub(topics[1]!), 1);
  t.equal(await numsub(topics[499]!), 1);
  t.equal(await numsub('diemcau/v1/devices/late/commands'), 1, 'dropped and taken again: subscribed');

  // A message published on another node reaches the listener through Redis.
  const emit = (topic: string) =>
    new Promise<void>((resolve, reject) =>
      (other.mq as unknown as Emitter).emit({ topic, payload: Buffer.from('x') }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  await emit(topics[7]!);
  await emit('diemcau/v1/devices/late/commands');
  for (let i = 0; i < 50 && got.length < 2; i++) await sleep(50);
  t.same(got.sort(), ['diemcau/v1/devices/late/commands', topics[7]!].sort());
});
