import type { SessionEvent } from '../broker/broker.js';
import type { SessionStart } from './sessions.js';

/**
 * How the sessions of every node reach every node's presence tracker. The
 * embedded fleet has one node and hands them over in process; a cluster
 * passes them through Redis (cluster/redis-presence-feed.ts), where each
 * node also keeps its live sessions so that a node starting or taking the
 * lead can load them all.
 */
export interface PresenceFeed {
  /** A session event of this node, for every node (this one included). */
  publish(e: SessionEvent): void;
  /** Every node's session events, in each node's order. */
  onEvent(handler: (e: SessionEvent) => void): void;
  /**
   * Reads the live sessions of every node as known now and gives them to
   * apply; events that arrived before (from the feed's start) or meanwhile
   * reach the handlers after it, in order.
   */
  load(apply: (sessions: SessionStart[]) => void): Promise<void>;
  close(): Promise<void>;
}

/** One node: events go straight to the handlers. */
export class LocalPresenceFeed implements PresenceFeed {
  private readonly handlers: Array<(e: SessionEvent) => void> = [];

  publish(e: SessionEvent): void {
    for (const h of this.handlers) h(e);
  }

  onEvent(handler: (e: SessionEvent) => void): void {
    this.handlers.push(handler);
  }

  load(apply: (sessions: SessionStart[]) => void): Promise<void> {
    apply([]);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
