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
import { Redis, type RedisOptions } from 'ioredis';

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

/**
 * The persistence's connection. aedes-persistence-redis 12 starts some list
 * writes without awaiting them (LREM and RPUSH of the will and outgoing lists):
 * on a connection that is closing (a node stopping, Redis gone) their refusal
 * was an unhandled rejection, which ends a process. The commands are
 * unchanged; their refusal is marked as seen here, and the command the
 * library awaits next reports the same failure to aedes.
 */
function persistenceConnection(options: RedisOptions): Redis {
  const conn = new Redis(options);
  for (const name of ['lrem', 'rpush'] as const) {
    const command = conn[name].bind(conn) as (...args: unknown[]) => Promise<number>;
    conn[name] = ((...args: unknown[]) => {
      const result = command(...args);
      result.catch(() => undefined);
      return result;
    }) as never;
  }
  return conn;
}

export function redisBackend(url: string): RedisBackend {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  const conn = persistenceConnection({
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
  });
  return {
    mq: mqemitterRedis({ connectionString: url }),
    // Boxes use clean sessions: nothing waits for them offline; maxSessionDelivery bounds a misuse.
    persistence: redisPersistence({ conn, maxSessionDelivery: 100 }),
  };
}
