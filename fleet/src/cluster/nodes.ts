// Fleet nodes say they are alive: each writes a beat into one Redis hash
// (diemcau:nodes: node id -> its own counter) every heartbeat. The leader
// reads the hash on the same rhythm and judges by its own clock when each
// node's beat last changed, so the nodes' clocks never have to agree. A node
// silent for the timeout is dead: its sessions end for every node (the
// presence feed), it leaves the hash, and the caller is told (an alert).
//
// A beat also says what the node is doing: `starting:7` while it builds
// itself (compiling its routes can hold its event loop for seconds on a busy
// machine, longer than the timeout), `7` once it serves, `left:7` from the
// moment it begins a graceful stop. A starting node is given the longer start
// timeout; a node whose last beat said it was leaving is gone, not dead, even
// if it never finished its stop.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { NODES_KEY } from './redis-presence-feed.js';

export type NodePhase = 'starting' | 'up' | 'left';

const beatValue = (phase: NodePhase, n: number): string => (phase === 'up' ? String(n) : `${phase}:${n}`);
export const phaseOf = (beat: string): NodePhase =>
  beat.startsWith('left:') ? 'left' : beat.startsWith('starting:') ? 'starting' : 'up';

/** The leader's memory of each node: its last beat and the leader's clock when it changed. */
export type BeatsSeen = Map<string, { beat: string; at: number }>;

export interface Verdict {
  nodeId: string;
  /** It said it was leaving: gone without an outage. */
  graceful: boolean;
  silentMs: number;
}

/**
 * Pure: given what the leader saw before, the hash as read now and the
 * leader's clock, updates `seen` and returns the nodes found gone (never the
 * leader itself). Nodes that are in `seen` after the call are alive.
 */
export function judgeBeats(
  seen: BeatsSeen,
  beats: Record<string, string>,
  now: number,
  self: string,
  limits: { timeoutMs: number; startTimeoutMs: number },
): Verdict[] {
  for (const [nodeId, beat] of Object.entries(beats)) {
    if (seen.get(nodeId)?.beat !== beat) seen.set(nodeId, { beat, at: now });
  }
  for (const nodeId of [...seen.keys()]) if (!(nodeId in beats)) seen.delete(nodeId);
  const gone: Verdict[] = [];
  for (const [nodeId, { beat, at }] of seen) {
    const phase = phaseOf(beat);
    const limit = phase === 'starting' ? limits.startTimeoutMs : limits.timeoutMs;
    if (nodeId === self || now - at < limit) continue;
    seen.delete(nodeId);
    gone.push({ nodeId, graceful: phase === 'left', silentMs: now - at });
  }
  return gone;
}

export interface NodeWatchOptions {
  redis: Redis;
  nodeId: string;
  heartbeatMs: number;
  timeoutMs: number;
  /** How long a node that is still starting may be silent. */
  startTimeoutMs: number;
  log: Logger;
  /** Only the leader judges; asked on every round. */
  isLeader: () => boolean;
  /** A node was found dead, or gone after a graceful stop (called on the leader, once per node), and the nodes alive. */
  onDead: (nodeId: string, graceful: boolean, alive: string[]) => Promise<void>;
  /** Nodes alive now, after each round of the leader (for resolving alerts). */
  onAlive?: (nodeIds: string[]) => Promise<void>;
}

export class NodeWatch {
  private beat = 0;
  private phase: NodePhase = 'starting';
  private timer: NodeJS.Timeout | undefined;
  private readonly seen: BeatsSeen = new Map();
  private closed = false;
  private wasLeader = false;

  constructor(private readonly o: NodeWatchOptions) {}

  /** Joins the hash as a starting node and beats from now on. */
  async start(): Promise<void> {
    await this.write();
    this.timer = setTimeout(() => void this.round(), this.o.heartbeatMs);
  }

  /** The node serves: from now on the ordinary timeout applies to it. */
  ready(): void {
    if (this.phase === 'starting') this.phase = 'up';
  }

  /**
   * A graceful stop begins: said at once, so that whatever happens to the
   * node from here (a stop that stalls, a crash while closing) it is judged
   * gone, not dead. It keeps beating until close().
   */
  async leave(): Promise<void> {
    this.phase = 'left';
    if (!this.closed) await this.write().catch(() => undefined);
  }

  private write(): Promise<unknown> {
    return this.o.redis.hset(NODES_KEY, this.o.nodeId, beatValue(this.phase, ++this.beat));
  }

  private async round(): Promise<void> {
    if (this.closed) return;
    try {
      await this.write();
      // A node on its way out judges no one: its event loop is busy closing,
      // and the node its boxes move to is busiest now; its silence is no death.
      if (this.o.isLeader() && this.phase !== 'left') await this.judge();
      else this.wasLeader = false;
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'node heartbeat: Redis did not answer');
    }
    if (!this.closed) this.timer = setTimeout(() => void this.round(), this.o.heartbeatMs);
  }

  private async judge(): Promise<void> {
    // A new leader gives every node a full timeout from now: it has no history.
    if (!this.wasLeader) this.seen.clear();
    this.wasLeader = true;
    const beats = await this.o.redis.hgetall(NODES_KEY);
    const gone = judgeBeats(this.seen, beats, Date.now(), this.o.nodeId, this.o);
    for (const { nodeId, graceful, silentMs } of gone) {
      // HDEL first: only the node that removes it reports it, once.
      if ((await this.o.redis.hdel(NODES_KEY, nodeId)) !== 1) continue;
      if (graceful) this.o.log.info({ nodeId }, 'fleet node left; its remaining sessions end');
      else this.o.log.warn({ nodeId, silentMs }, 'fleet node is silent; declared dead');
      await this.o.onDead(nodeId, graceful, [...this.seen.keys()]);
    }
    await this.o.onAlive?.([...this.seen.keys()]);
  }

  /**
   * The end of a graceful stop: this node says it left and beats no more.
   * Its sessions stay in Redis for the timeout, so that its boxes reconnect
   * to the other nodes before the leader ends them: a box that moved never
   * counts as offline, and a rolling restart opens no alert.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.phase = 'left';
    if (this.timer) clearTimeout(this.timer);
    await this.write().catch(() => undefined);
  }
}
