// Messages between fleet nodes over Redis pub/sub, for what one node does and
// the others must hear of: the live feed's events (the dashboard may be
// served by any node), a device to disconnect wherever it is connected, an
// operator's streams to end. Each message says which node sent it; a node
// does not hear its own.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

const CHANNEL = 'diemcau:bus';

export interface ClusterBus {
  readonly nodeId: string;
  /** To every other node. */
  publish(topic: string, payload: unknown): void;
  /** Messages of a topic from the other nodes. */
  subscribe(topic: string, handler: (payload: unknown, fromNode: string) => void): () => void;
}

export class RedisClusterBus implements ClusterBus {
  private readonly handlers = new Map<string, Set<(payload: unknown, fromNode: string) => void>>();
  private readonly ready: Promise<unknown>;
  private dropped = 0;

  constructor(
    readonly nodeId: string,
    private readonly pub: Redis,
    sub: Redis,
    private readonly log: Logger,
  ) {
    sub.on('message', (channel: string, raw: string) => {
      if (channel === CHANNEL) this.deliver(raw);
    });
    this.ready = sub.subscribe(CHANNEL);
  }

  whenReady(): Promise<unknown> {
    return this.ready;
  }

  publish(topic: string, payload: unknown): void {
    this.pub.publish(CHANNEL, JSON.stringify({ from: this.nodeId, topic, payload })).catch((err: unknown) => {
      this.log.warn({ err: (err as Error).message, topic }, 'cluster message not sent');
    });
  }

  subscribe(topic: string, handler: (payload: unknown, fromNode: string) => void): () => void {
    let set = this.handlers.get(topic);
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  private deliver(raw: string): void {
    let m: { from?: unknown; topic?: unknown; payload?: unknown };
    try {
      m = JSON.parse(raw) as typeof m;
    } catch {
      m = {};
    }
    if (typeof m.from !== 'string' || typeof m.topic !== 'string') {
      if (this.dropped++ % 1000 === 0) this.log.warn({ dropped: this.dropped }, 'unreadable cluster message dropped');
      return;
    }
    if (m.from === this.nodeId) return;
    for (const h of this.handlers.get(m.topic) ?? []) {
      try {
        h(m.payload, m.from);
      } catch (err) {
        this.log.error({ err, topic: m.topic }, 'cluster message handler failed');
      }
    }
  }
}
