// What the two leader leases (store-lease.ts, leader-lease.ts) share: the
// local deadline, the listeners told of each change of lead, the timer of
// the next round and the graceful close. Each lease keeps its own round (how
// it asks its store) and says how it hands the lease back.
import type { Logger } from 'pino';
import type { Fence, LeaderElection } from './leadership.js';

export interface LeaseOptions {
  nodeId: string;
  leaseMs: number;
  log: Logger;
}

export abstract class Lease implements LeaderElection {
  protected leading = false;
  protected closed = false;
  /** Local time by which the lease must have been renewed, or this node stops leading. */
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(leading: boolean) => void>();

  constructor(private readonly base: LeaseOptions) {}

  abstract readonly fence: Fence;
  abstract start(): void;
  /** Hands the lease back to its store; called by close() only when this node led. */
  protected abstract release(): Promise<void>;

  get isLeader(): boolean {
    return this.leading && this.isValid();
  }

  onChange(listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether the last take or renewal still holds by the local clock. */
  protected isValid(): boolean {
    return Date.now() < this.validUntil;
  }

  /**
   * Records a take or renewal whose request left at startedAt: counted from
   * before the request, since the store's expiry was set after it, less a
   * tenth of the lease as a margin.
   */
  protected held(startedAt: number): void {
    const { leaseMs } = this.base;
    this.validUntil = startedAt + leaseMs - Math.ceil(leaseMs / 10);
  }

  /** Runs the next round after ms (at least 50), unless the lease was closed meanwhile. */
  protected schedule(round: () => Promise<void>, ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void round(), Math.max(50, ms));
  }

  /** Fields the change-of-lead log line carries besides the node and its lead. */
  protected logFields(): Record<string, unknown> {
    return {};
  }

  protected set(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    const { log, nodeId } = this.base;
    log.info(
      { nodeId, leading, ...this.logFields() },
      leading ? 'this node leads the fleet' : 'this node no longer leads the fleet',
    );
    // A throwing listener must not stop the others, nor the lease.
    for (const l of [...this.listeners]) {
      try {
        l(leading);
      } catch (err) {
        log.error({ err }, 'leadership listener failed');
      }
    }
  }

  /** Stops renewing and hands the lease back at once (a graceful stop: the next node takes over without waiting). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const was = this.leading;
    this.set(false);
    if (was) await this.release();
  }
}
