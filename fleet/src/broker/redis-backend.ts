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
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { AedesPersistence } from 'aedes-persistence';
import type { MQEmitter } from 'mqemitter';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

const require = createRequire(import.meta.url);

// Both are CommonJS factories whose typings do not describe the factory call.
const mqemitterRedis = require('mqemitter-redis') as (opts: {
  pubConn: Redis;
  subConn: Redis;
}) => MQEmitter & { close(cb: () => void): void; state: EventEmitter; pubConn: Redis; subConn: Redis };
const redisPersistence = require('aedes-persistence-redis') as (opts: Record<string, unknown>) => AedesPersistence;

export interface RedisBackend {
  mq: MQEmitter;
  persistence: AedesPersistence;
  /** Drops every connection to Redis at once, without waiting for answers (closing waits for them). */
  cut(): void;
}

/** Where a failure of Redis surfaced: the relay of messages between nodes, or the shared persistence. */
export type RedisPart = 'messages' | 'persistence';

export interface RedisBackendOptions {
  log: Logger;
  registry: Registry;
}

/**
 * Marks the refusal of some commands on `conn` as seen. Both libraries start
 * commands they never await: aedes-persistence-redis 12 its LREM and RPUSH of
 * the will and outgoing lists, mqemitter-redis 7 its QUIT on close. On a
 * connection that is closing or lost (a node stopping, Redis gone) their
 * refusal was an unhandled rejection, which ends a process. The commands are
 * unchanged, and the caller's promise still rejects; a command the library
 * awaits next reports the same failure to aedes.
 */
function markRefusalsSeen(conn: Redis, names: ReadonlyArray<'lrem' | 'rpush' | 'quit'>): void {
  for (const name of names) {
    const command = conn[name].bind(conn) as (...args: unknown[]) => Promise<unknown>;
    conn[name] = ((...args: unknown[]) => {
      const result = command(...args);
      result.catch(() => undefined);
      return result;
    }) as never;
  }
}

const SUBSCRIPTION_COMMANDS = ['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe'] as const;
type SubscriptionCommand = (typeof SUBSCRIPTION_COMMANDS)[number];
type Callback = (err?: Error | null) => void;

/**
 * mqemitter-redis sends one SUBSCRIBE per topic a box subscribes to (and one
 * UNSUBSCRIBE when it leaves): thousands at once when a node takes over
 * another's boxes. Here the ones asked for in one turn of the event loop go
 * out as one command per run of the same kind, in the order asked, so a
 * subscribe and an unsubscribe of one channel never swap.
 */
function coalesceSubscriptions(conn: Redis): void {
  const queue: Array<{ kind: SubscriptionCommand; channels: unknown; done: Callback }> = [];
  const send = Object.fromEntries(
    SUBSCRIPTION_COMMANDS.map((kind) => [kind, (conn[kind] as (...a: unknown[]) => Promise<unknown>).bind(conn)]),
  ) as Record<SubscriptionCommand, (...channels: unknown[]) => Promise<unknown>>;
  const flush = (): void => {
    const items = queue.splice(0);
    for (let i = 0; i < items.length;) {
      let j = i + 1;
      while (j < items.length && items[j]!.kind === items[i]!.kind) j++;
      const run = items.slice(i, j);
      send[run[0]!.kind](...run.map((x) => x.channels)).then(
        () => run.forEach((x) => x.done(null)),
        (err: Error) => run.forEach((x) => x.done(err)),
      );
      i = j;
    }
  };
  for (const kind of SUBSCRIPTION_COMMANDS) {
    conn[kind] = ((channels: unknown, cb?: Callback) =>
      new Promise<void>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush);
        queue.push({
          kind,
          channels,
          // With a callback the failure is the callback's (mqemitter-redis drops the promise).
          done: (err) => {
            if (cb) cb(err);
            if (err && !cb) reject(err);
            else resolve();
          },
        });
      })) as never;
  }
}

/** The persistence's methods that answer with a stream of what Redis returns. */
const STREAMS = ['createRetainedStream', 'createRetainedStreamCombi', 'outgoingStream', 'streamWill', 'getClientList'];

/**
 * aedes pipes some of these streams without listening for their errors (the
 * retained messages sent on SUBSCRIBE): a read that Redis fails would be an
 * uncaught 'error' event, which ends the process. Each stream the
 * persistence returns has its failure reported here; whoever reads it still
 * sees it end in that error.
 */
function reportStreamErrors(persistence: AedesPersistence, report: (err: Error) => void): void {
  const methods = persistence as unknown as Record<string, unknown>;
  for (const name of STREAMS) {
    const method = methods[name];
    if (typeof method !== 'function') continue;
    methods[name] = (...args: unknown[]) => {
      const stream = (method as (...a: unknown[]) => unknown).apply(persistence, args);
      if (stream instanceof EventEmitter) stream.on('error', report);
      return stream;
    };
  }
}

const LOG_EVERY_MS = 10_000;

/**
 * Counts every Redis failure by part and logs the first of a burst, then at
 * most one line per part every LOG_EVERY_MS with how many came between (an
 * outage fails every retry of every connection).
 */
function faultReporter(o: RedisBackendOptions): (part: RedisPart, err: Error) => void {
  const counter = new Counter({
    name: 'diemcau_redis_errors_total',
    help: "Failures of the broker's Redis (connection errors, refused commands, failed reads), by part",
    labelNames: ['part'],
    registers: [o.registry],
  });
  const last = new Map<RedisPart, { at: number; since: number }>();
  return (part, err) => {
    counter.inc({ part });
    const now = Date.now();
    const seen = last.get(part);
    if (seen && now - seen.at < LOG_EVERY_MS) {
      seen.since++;
      return;
    }
    last.set(part, { at: now, since: 0 });
    o.log.error(
      { part, err: err.message, ...(seen?.since ? { since: seen.since } : {}) },
      "the broker's Redis failed; messages between nodes or stored sessions may be delayed until it answers",
    );
  };
}

export function redisBackend(url: string, o: RedisBackendOptions): RedisBackend {
  const fault = faultReporter(o);
  // A box's connect costs about fifteen commands (its will, subscriptions,
  // retained look-ups, the birth), and a node takes thousands of boxes at once
  // when another dies: commands issued in one turn of the event loop go out in
  // one write (profiled: one write per command was a third of a takeover's CPU).
  // mqemitter-redis asks for the same but drops it when given a URL, so it gets
  // its connections from here. Its subscriber connection sends only (P)SUBSCRIBE,
  // which ioredis never pipelines: those are gathered here (coalesceSubscriptions).
  const pipelined = (): Redis => new Redis(url, { enableAutoPipelining: true });
  const conn = pipelined();
  markRefusalsSeen(conn, ['lrem', 'rpush']);
  conn.on('error', (err: Error) => fault('persistence', err));
  const subConn = new Redis(url);
  coalesceSubscriptions(subConn);
  const mq = mqemitterRedis({ pubConn: pipelined(), subConn });
  markRefusalsSeen(mq.pubConn, ['quit']);
  markRefusalsSeen(mq.subConn, ['quit']);
  // mqemitter-redis re-emits its connections' errors on `state`: with no
  // listener there, the first refused reconnect would end the process.
  mq.state.on('error', (err: Error) => fault('messages', err));
  // Boxes use clean sessions: nothing waits for them offline; maxSessionDelivery bounds a misuse.
  const persistence = redisPersistence({ conn, maxSessionDelivery: 100 });
  reportStreamErrors(persistence, (err) => fault('persistence', err));
  return {
    mq,
    persistence,
    cut: () => {
      for (const c of [mq.pubConn, mq.subConn, conn]) c.disconnect();
    },
  };
}
