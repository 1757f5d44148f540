// Fleet nodes say they are alive: each writes a beat into one Redis hash
// (diemcau:nodes: node id -> its own counter) every heartbeat. The leader
// reads the hash on the same rhythm and judges by its own clock when each
// node's beat last changed, so the nodes' clocks never have to agree. A node
// silent for the timeout is dead: its sessions end for every node (the
// presence feed), it leaves the hash, and the caller is told (an alert).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { NODES_KEY } from './redis-presence-feed.js';

export interface NodeWatchOptions {
  redis: Redis;
  nodeId: string;
  heartbeatMs: number;
  timeoutMs: number;
  log: Logger;
  /** Only the leader judges; asked on every round. */
  isLeader: () => boolean;
  /** A node was found dead, or gone after a graceful stop (called on the leader, once per node). */
  onDead: (nodeId: string, graceful: boolean) => Promise<void>;
  /** Nodes alive now, after each round of the leader (for resolving alerts). */
  onAlive?: (nodeIds: string[]) => Promise<void>;
}

export class NodeWatch {
  private beat = 0;
  private timer: NodeJS.Timeout | undefined;
  /** node -> [last beat seen, local time it changed] */
  private readonly seen = new Map<string, [string, number]>();
  private closed = false;
  private wasLeader = false;

  constructor(private readonly o: NodeWatchOptions) {}

  async start(): Promise<void> {
    await this.o.redis.hset(NODES_KEY, this.o.nodeId, String(++this.beat));
    this.timer = setTimeout(() => void this.round(), this.o.heartbeatMs);
  }

  private async round(): Promise<void> {
    if (this.closed) return;
    try {
      await this.o.redis.hset(NODES_KEY, this.o.nodeId, String(++this.beat));
      if (this.o.isLeader()) await this.judge();
      else this.wasLeader = false;
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'node heartbeat: Redis did not answer');
    }
    if (!this.closed) this.timer = setTimeout(() => void this.round(), this.o.heartbeatMs);
  }

  private async judge(): Promise<void> {
    const now = Date.now();
    // A new leader gives every node a full timeout from now: it has no history.
    if (!this.wasLeader) this.seen.clear();
    this.wasLeader = true;
    const beats = await this.o.redis.hgetall(NODES_KEY);
    for (const [nodeId, beat] of Object.entries(beats)) {
      const prev = this.seen.get(nodeId);
      if (!prev || prev[0] !== beat) this.seen.set(nodeId, [beat, now]);
    }
    for (const nodeId of [...this.seen.keys()]) if (!(nodeId in beats)) this.seen.delete(nodeId);
    for (const [nodeId, [, at]] of this.seen) {
      if (nodeId === this.o.nodeId || now - at < this.o.timeoutMs) continue;
      const graceful = this.seen.get(nodeId)![0].startsWith('left');
      this.seen.delete(nodeId);
      // HDEL first: only the node that removes it reports it, once.
      if ((await this.o.redis.hdel(NODES_KEY, nodeId)) !== 1) continue;
      if (graceful) this.o.log.info({ nodeId }, 'fleet node left; its remaining sessions end');
      else this.o.log.warn({ nodeId, silentMs: now - at }, 'fleet node is silent; declared dead');
      await this.o.onDead(nodeId, graceful);
    }
    await this.o.onAlive?.([...this.seen.keys()]);
  }

  /**
   * A graceful stop: this node says it left and beats no more. Its sessions
   * stay in Redis for the timeout, so that its boxes reconnect to the other
   * nodes before the leader ends them: a box that moved never counts as
   * offline, and a rolling restart opens no alert.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.o.redis.hset(NODES_KEY, this.o.nodeId, `left:${++this.beat}`).catch(() => undefined);
  }
}
