// Sessions of every node, through Redis. Each node keeps its live sessions
// in a hash of its own (diemcau:sessions:<node>: session id -> device id)
// and announces each start and end on one channel, in order. A node that
// starts subscribes first and then loads every hash (load()): an event seen
// twice changes nothing, and an end seen before its start is remembered by
// the session table (presence/sessions.ts). What arrives on the channel from
// the subscription until the hashes are read is held and handed over after
// them, in order: a node declared lost meanwhile would otherwise have its
// sessions ended before the load put them in the table, and they would stay
// there for ever; and a start that came before the node's handlers were
// wired would be lost (its box connected and never counted online).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { SessionEvent } from '../broker/broker.js';
import type { PresenceFeed } from '../presence/feed.js';
import type { SessionStart } from '../presence/sessions.js';

export const PRESENCE_CHANNEL = 'diemcau:presence';
export const sessionsKey = (nodeId: string): string => `diemcau:sessions:${nodeId}`;
export const NODES_KEY = 'diemcau:nodes';

/** What travels on the channel: a session event, or a node's sessions all ended at once. */
export type FeedMessage = SessionEvent | { kind: 'node-lost'; nodeId: string; graceful: boolean };

function parse(raw: string): FeedMessage | undefined {
  try {
    const m = JSON.parse(raw) as Partial<Record<string, unknown>>;
    if (m.kind === 'node-lost' && typeof m.nodeId === 'string')
      return { kind: 'node-lost', nodeId: m.nodeId, graceful: m.graceful === true };
    if (
      (m.kind === 'start' || m.kind === 'end') &&
      typeof m.deviceId === 'string' &&
      typeof m.sessionId === 'string' &&
      typeof m.nodeId === 'string'
    ) {
      return m.kind === 'start'
        ? { kind: 'start', deviceId: m.deviceId, sessionId: m.sessionId, nodeId: m.nodeId }
        : {
            kind: 'end',
            deviceId: m.deviceId,
            sessionId: m.sessionId,
            nodeId: m.nodeId,
            keepaliveExpired: m.keepaliveExpired === true,
          };
    }
  } catch {
    // counted below
  }
  return undefined;
}

export class RedisPresenceFeed implements PresenceFeed {
  private readonly handlers: Array<(e: SessionEvent) => void> = [];
  private readonly lostHandlers: Array<(lost: { nodeId: string; graceful: boolean }) => void> = [];
  private readonly ready: Promise<unknown>;
  /** Messages held until load() has read the hashes. */
  private held: FeedMessage[] | undefined = [];

  /** `pub` runs commands; `sub` is a connection of its own in subscriber mode. */
  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly log: Logger,
  ) {
    this.sub.on('message', (channel: string, raw: string) => {
      if (channel !== PRESENCE_CHANNEL) return;
      const m = parse(raw);
      if (!m) return this.log.warn({ channel }, 'unreadable presence message from the cluster; dropped');
      if (this.held) this.held.push(m);
      else this.deliver(m);
    });
    this.ready = this.sub.subscribe(PRESENCE_CHANNEL);
  }

  /** Resolves once the channel is subscribed (before it, events of other nodes would be missed). */
  whenReady(): Promise<unknown> {
    return this.ready;
  }

  /**
   * Set when this node stops gracefully: the ends of its sessions are not
   * announced (its boxes are moving to other nodes); the leader ends what
   * is left of them after the node's timeout (nodes.ts).
   */
  leaving = false;

  publish(e: SessionEvent): void {
    if (this.leaving && e.kind === 'end') return;
    const key = sessionsKey(e.nodeId);
    // Two commands, not a MULTI: the connection pipelines what is issued in one
    // turn, in order, and a MULTI would overtake commands queued before it. A
    // snapshot taken between the two sees the same session twice or its end
    // without its start, which the session table already takes (see the top).
    const failed = (err: unknown): void =>
      this.log.error({ err, kind: e.kind, deviceId: e.deviceId }, 'session event not written to Redis');
    (e.kind === 'start' ? this.pub.hset(key, e.sessionId, e.deviceId) : this.pub.hdel(key, e.sessionId)).catch(failed);
    this.pub.publish(PRESENCE_CHANNEL, JSON.stringify(e)).catch(failed);
  }

  /** Announces that a node's sessions have all ended (the leader found it dead, or gone after a graceful stop). */
  async nodeLost(nodeId: string, graceful = false): Promise<void> {
    await Promise.all([
      this.pub.del(sessionsKey(nodeId)),
      this.pub.publish(PRESENCE_CHANNEL, JSON.stringify({ kind: 'node-lost', nodeId, graceful })),
    ]);
  }

  onEvent(handler: (e: SessionEvent) => void): void {
    this.handlers.push(handler);
  }

  onNodeLost(handler: (nodeId: string, graceful: boolean) => void): void {
    this.lostHandlers.push(({ nodeId, graceful }) => handler(nodeId, graceful));
  }

  async load(apply: (sessions: SessionStart[]) => void): Promise<void> {
    await this.ready;
    const held = (this.held ??= []);
    try {
      const nodes = await this.pub.hkeys(NODES_KEY);
      const out: SessionStart[] = [];
      for (const nodeId of nodes) {
        const sessions = await this.pub.hgetall(sessionsKey(nodeId));
        for (const [sessionId, deviceId] of Object.entries(sessions)) out.push({ sessionId, deviceId, nodeId });
      }
      apply(out);
    } finally {
      this.held = undefined;
      for (const m of held) this.deliver(m);
    }
  }

  private deliver(m: FeedMessage): void {
    if (m.kind === 'node-lost') this.each(this.lostHandlers, { nodeId: m.nodeId, graceful: m.graceful });
    else this.each(this.handlers, m);
  }

  async close(): Promise<void> {
    await this.sub.unsubscribe(PRESENCE_CHANNEL).catch(() => undefined);
  }

  private each<T>(handlers: Array<(x: T) => void>, x: T): void {
    for (const h of handlers) {
      try {
        h(x);
      } catch (err) {
        this.log.error({ err }, 'presence feed handler failed');
      }
    }
  }
}
