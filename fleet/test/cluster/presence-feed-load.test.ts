// A node that starts loads every node's sessions from Redis (the presence
// feed's load()). If the leader declares a node lost while those hashes are
// being read, the node-lost message can arrive before the lost node's
// sessions reach the table: they would then stay in it for ever, counted
// online with nothing connected, and written back online in the registry if
// this node ever leads. The feed holds what arrives during the load and
// hands it over after it. Real Redis; the read of the lost node's hash is
// made to wait until the message has reached the starting node.
import t from 'tap';
import pino from 'pino';
import { Redis } from 'ioredis';
import { NODES_KEY, PRESENCE_CHANNEL, RedisPresenceFeed, sessionsKey } from '../../src/cluster/redis-presence-feed.js';
import { SessionTable } from '../../src/presence/sessions.js';
import { startRedis } from '../helpers/redis.js';

const log = pino({ level: process.env.TLOG ?? 'silent' });

t.test('a node lost while a starting node loads the sessions is not left in its table', async (t) => {
  const redis = await startRedis(t);
  const [leader, pub, sub] = [new Redis(redis.url), new Redis(redis.url), new Redis(redis.url)];
  t.teardown(() => {
    for (const r of [leader, pub, sub]) r.disconnect();
  });
  // The node that died: in the nodes hash, with two sessions.
  await leader.hset(NODES_KEY, 'dead~1', '7');
  await leader.hset(sessionsKey('dead~1'), 's1', 'dev-a', 's2', 'dev-b');
  // A live node with one session.
  await leader.hset(NODES_KEY, 'alive~1', '9');
  await leader.hset(sessionsKey('alive~1'), 's3', 'dev-c');

  const feed = new RedisPresenceFeed(pub, sub, log);
  t.teardown(() => feed.close());
  const table = new SessionTable();
  feed.onEvent((e) => (e.kind === 'start' ? table.start(e) : table.end(e.sessionId, e.deviceId)));
  feed.onNodeLost((nodeId) => table.endNode(nodeId));

  // The leader judges 'dead~1' right after the starting node read its hash,
  // and the message is on the starting node's connection before the load ends.
  const heard = new Promise<void>((resolve) =>
    sub.on('message', (channel: string, raw: string) => {
      if (channel === PRESENCE_CHANNEL && raw.includes('node-lost')) resolve();
    }),
  );
  const read = pub.hgetall.bind(pub) as (key: string) => Promise<Record<string, string>>;
  let judged = false;
  (pub as unknown as { hgetall: (key: string) => Promise<Record<string, string>> }).hgetall = async (key) => {
    const got = await read(key);
    if (key === sessionsKey('dead~1') && !judged) {
      judged = true;
      await leader.hdel(NODES_KEY, 'dead~1');
      await leader.del(sessionsKey('dead~1'));
      await leader.publish(PRESENCE_CHANNEL, JSON.stringify({ kind: 'node-lost', nodeId: 'dead~1', graceful: false }));
      await heard;
    }
    return got;
  };

  const loaded: string[] = [];
  await feed.load((sessions) => {
    for (const s of sessions) {
      loaded.push(s.deviceId);
      table.start(s);
    }
  });
  t.ok(judged, 'the node was declared lost during the load');
  t.same(loaded.sort(), ['dev-a', 'dev-b', 'dev-c'], "the load read the lost node's sessions before they were removed");
  t.same(
    ['dev-a', 'dev-b', 'dev-c'].filter((d) => table.isOnline(d)),
    ['dev-c'],
    "the lost node's sessions ended after they were loaded; the live node's stay",
  );
  t.equal(table.online, 1);

  // Events after the load go straight through.
  await leader.publish(
    PRESENCE_CHANNEL,
    JSON.stringify({ kind: 'start', deviceId: 'dev-d', sessionId: 's4', nodeId: 'alive~1' }),
  );
  const until = Date.now() + 5_000;
  while (!table.isOnline('dev-d') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.ok(table.isOnline('dev-d'), 'a session started after the load is seen');
});
