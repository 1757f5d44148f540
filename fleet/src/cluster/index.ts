// The fleet as N nodes on one Redis: the composition of the cluster's parts
// for app.ts. The broker joins the others by itself (broker/redis-backend.ts);
// here: the presence feed, the leader lease, the node heartbeats and the
// node-down alert, and the bus the live feed travels on.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AlertService } from '../alerts/service.js';
import type { PresenceTracker } from '../presence/tracker.js';
import { RedisClusterBus } from './bus.js';
import type { FleetDb } from '../db/database.js';
import { LeaderLease } from './leader-lease.js';
import type { LeaderElection } from './leadership.js';
import { StoreLease } from './store-lease.js';
import { NodeWatch } from './nodes.js';
import { RedisPresenceFeed } from './redis-presence-feed.js';

export interface ClusterOptions {
  redisUrl: string;
  /** The configured name of this node; unset: host name and process id. */
  name?: string | undefined;
  heartbeatMs: number;
  nodeTimeoutMs: number;
  /** How long a node still starting may be silent before it is dead. */
  nodeStartTimeoutMs: number;
  /** How long the boxes of a node that left gracefully have to reconnect elsewhere before alerts. */
  leftGraceMs: number;
  leaseMs: number;
  /** The registry: with PostgreSQL it elects the leader (store-lease.ts), else a key in Redis does. */
  db: FleetDb;
  log: Logger;
}

/** The broker's side of a node declared dead while it ran (broker.ts renewSessions). */
export interface SessionRenewal {
  renewSessions(): number;
}

export const NODE_DOWN_ALERT = 'fleet-node-down';
const nodeDownKey = (name: string): string => `${NODE_DOWN_ALERT}:${name}`;
/** A node id is its name and a suffix per start: `fleet-a~3f9c`. */
export const nodeName = (nodeId: string): string => nodeId.split('~')[0]!;

export class Cluster {
  readonly nodeId: string;
  readonly feed: RedisPresenceFeed;
  readonly bus: RedisClusterBus;
  readonly leadership: LeaderElection;
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private watch: NodeWatch | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly o: ClusterOptions) {
    const name = o.name ?? `${hostname()}-${process.pid}`;
    this.nodeId = `${name}~${randomBytes(3).toString('hex')}`;
    const redisOpts = { maxRetriesPerRequest: 2, enableOfflineQueue: true };
    // Session events and the bus come in bursts (a node's boxes moving): one write per turn of the event loop.
    this.cmd = new Redis(o.redisUrl, { ...redisOpts, enableAutoPipelining: true });
    this.sub = new Redis(o.redisUrl, redisOpts);
    for (const r of [this.cmd, this.sub])
      r.on('error', (err: Error) => o.log.warn({ err: err.message }, 'Redis connection error'));
    this.feed = new RedisPresenceFeed(this.cmd, this.sub, o.log.child({ part: 'presence-feed' }));
    this.bus = new RedisClusterBus(this.nodeId, this.cmd, this.sub, o.log.child({ part: 'bus' }));
    const lease = { nodeId: this.nodeId, leaseMs: o.leaseMs, log: o.log.child({ part: 'lease' }) };
    this.leadership =
      o.db.dialect === 'postgres'
        ? new StoreLease({ ...lease, db: o.db })
        : new LeaderLease({ ...lease, redis: this.cmd });
  }

  /**
   * Joins: loads every node's sessions into the tracker (after subscribing,
   * so nothing falls between), then heartbeats and competes for the lead.
   * Should the cluster ever declare this node dead while it runs, the
   * broker announces its sessions again.
   */
  async start(tracker: PresenceTracker, alerts: AlertService, broker: SessionRenewal): Promise<void> {
    await Promise.all([this.feed.whenReady(), this.bus.whenReady()]);
    this.feed.onNodeLost((nodeId, graceful) => {
      // A node stopped on purpose (a rolling restart): its boxes are moving, not down.
      tracker.nodeLost(nodeId, graceful ? this.o.leftGraceMs : undefined);
      if (nodeId !== this.nodeId || this.feed.leaving) return;
      // Declared dead while alive (starved past the node timeout): every node ended this
      // node's sessions while its boxes are still connected to it. They start again.
      const renewed = broker.renewSessions();
      this.o.log.error(
        { nodeId, renewed },
        'this node was declared dead while it ran; its sessions are announced again',
      );
    });
    await this.feed.load((sessions) => {
      for (const s of sessions) tracker.sessionStarted(s);
    });
    this.leadership.onChange((leading) => {
      if (!leading) return tracker.follow();
      tracker
        .lead()
        .catch((err: unknown) => this.o.log.error({ err }, 'taking the lead failed: the registry did not answer'));
    });
    this.watch = new NodeWatch({
      redis: this.cmd,
      nodeId: this.nodeId,
      heartbeatMs: this.o.heartbeatMs,
      timeoutMs: this.o.nodeTimeoutMs,
      startTimeoutMs: this.o.nodeStartTimeoutMs,
      log: this.o.log,
      isLeader: () => this.leadership.isLeader,
      onDead: async (nodeId, graceful, alive) => {
        await this.feed.nodeLost(nodeId, graceful);
        if (graceful) return;
        const name = nodeName(nodeId);
        // Restarted (by systemd, say) before it was judged: back already, its boxes reconnecting.
        if (alive.some((id) => nodeName(id) === name))
          return this.o.log.warn({ nodeId }, 'fleet node died and is already back under its name; no alert');
        await alerts.open(
          {
            type: NODE_DOWN_ALERT,
            key: nodeDownKey(name),
            siteId: null,
            deviceId: null,
            severity: 'critical',
            message: `fleet node ${name} stopped answering; its boxes reconnect to the other nodes`,
            details: { node: name, nodeId },
          },
          { fence: this.leadership.fence },
        );
      },
      onAlive: async (nodeIds) => {
        const names = new Set(nodeIds.map(nodeName));
        for (const a of await alerts.list({ state: 'open', type: NODE_DOWN_ALERT, limit: 1000 })) {
          const name = a.key.slice(NODE_DOWN_ALERT.length + 1);
          if (names.has(name))
            await alerts.resolve(a.key, `fleet node ${name} is back`, { fence: this.leadership.fence });
        }
      },
    });
    await this.watch.start();
    this.leadership.start();
  }

  /** Built and serving: from now on the ordinary node timeout applies to this node. */
  ready(): void {
    this.watch?.ready();
  }

  /**
   * A graceful stop begins, before the broker closes: the ends of this
   * node's sessions are not announced (its boxes are moving), the other
   * nodes are told it is leaving, so that it is never taken for dead, and
   * the lead is handed back.
   */
  async leave(): Promise<void> {
    this.feed.leaving = true;
    await this.watch?.leave();
    // The lead passes on now, not after the broker closed: the stopping node
    // does no more leader work (judging the node its boxes flood, above all).
    await this.leadership.close();
  }

  /** After the broker closed: stop beating (marked left), hand back the lease, disconnect. Safe twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.feed.leaving = true;
      await this.watch?.close();
      await this.leadership.close();
      await this.feed.close();
      this.cmd.disconnect();
      this.sub.disconnect();
    })();
    return this.closing;
  }
}
