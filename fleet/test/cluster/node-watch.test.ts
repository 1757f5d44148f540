// The node watch (cluster/nodes.ts) on a real Redis, in a rolling restart:
// the leader is stopped gracefully just after the other node came back, and
// every box moves to that node at once. The node flooded by them goes silent
// for a while; the stopping leader, busy closing, must not take that silence
// for a death (a false fleet-node-down alert, the flooded node's sessions
// ended for every node while its boxes are connected to it).
import t from 'tap';
import pino from 'pino';
import { Redis } from 'ioredis';
import { NodeWatch } from '../../src/cluster/nodes.js';
import { NODES_KEY } from '../../src/cluster/redis-presence-feed.js';
import { startRedis } from '../helpers/redis.js';

const log = pino({ level: process.env.TLOG ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('a leader on its way out judges no one', async (t) => {
  const redis = await startRedis(t);
  const r = new Redis(redis.url);
  t.teardown(() => r.disconnect());
  const dead: string[] = [];
  const watch = new NodeWatch({
    redis: r,
    nodeId: 'leader~1',
    heartbeatMs: 100,
    timeoutMs: 500,
    startTimeoutMs: 500,
    log,
    isLeader: () => true,
    onDead: async (nodeId, graceful) => {
      if (!graceful) dead.push(nodeId);
    },
  });
  t.teardown(() => watch.close());
  await watch.start();
  watch.ready();
  // The other node beats once, then its event loop is held (the boxes' logins).
  await r.hset(NODES_KEY, 'flooded~1', '1');
  await sleep(300);
  await watch.leave();
  await sleep(1500);
  t.same(dead, [], 'the silent node was not judged by the leaving leader');
  t.equal(await r.hget(NODES_KEY, 'flooded~1'), '1', 'and is still in the hash for the next leader to judge');

  // The rule is about leaving: a leader that stays judges the silent node dead.
  const stays = new NodeWatch({
    redis: r,
    nodeId: 'leader~2',
    heartbeatMs: 100,
    timeoutMs: 500,
    startTimeoutMs: 500,
    log,
    isLeader: () => true,
    onDead: async (nodeId, graceful) => {
      if (!graceful) dead.push(nodeId);
    },
  });
  t.teardown(() => stays.close());
  await stays.start();
  stays.ready();
  await sleep(1500);
  t.same(dead, ['flooded~1'], 'a leader that stays declares it dead');
});
