// The broker's shared parts when the fleet runs as a cluster: aedes on every
// node, joined through Redis. mqemitter-redis carries every message to every
// node (a command published on node A reaches a box on node B);
// aedes-persistence-redis keeps retained messages, subscriptions, wills and
// QoS 1 in-flight messages in Redis, so they outlive any node and a full
// restart.
//
// What stays per node (broker.ts, limits.ts, login-throttle.ts): the
// authentication of the node's own connections, the ACL decided on each
// packet, the per-address connection cap, the login throttles and the
// per-device login rate. Behind a load balancer that spreads one address
// over N nodes these caps are per node, so the cluster admits up to N times
// each. retained-index.ts is not used here: aedes-persistence-redis already
// answers exact topics with one HGET, and scans only for wildcards.
//
// The fleet's Redis database should be its own: the persistence uses plain
// key names (retained, clients, client:..., will...), the fleet's own keys
// start with diemcau: (cluster/).
import { createRequire } from 'node:module';
import type { AedesPersistence } from 'aedes-persistence';
import type { MQEmitter } from 'mqemitter';

const require = createRequire(import.meta.url);

// Both are CommonJS factories whose typings do not describe the factory call.
const mqemitterRedis = require('mqemitter-redis') as (opts: {
  connectionString: string;
}) => MQEmitter & { close(cb: () => void): void };
const redisPersistence = require('aedes-persistence-redis') as (opts: Record<string, unknown>) => AedesPersistence;

export interface RedisBackend {
  mq: MQEmitter;
  persistence: AedesPersistence;
}

export function redisBackend(url: string): RedisBackend {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    mq: mqemitterRedis({ connectionString: url }),
    persistence: redisPersistence({
      host: u.hostname,
      port: u.port ? Number(u.port) : 6379,
      db,
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      // Boxes use clean sessions: nothing waits for them offline; this bounds a misuse.
      maxSessionDelivery: 100,
    }),
  };
}
