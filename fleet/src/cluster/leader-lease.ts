// The leader lease: one key in Redis, set only if absent, with an expiry.
// The holder renews it every third of the lease; a node that cannot renew
// (Redis unreachable, key taken) stops leading at once, and in any case
// before its lease could have run out, so two nodes never both believe they
// lead while Redis' clock and theirs agree to within the margin. A node that
// dies stops renewing; another takes the key within one lease.
//
// This is the lease of a cluster whose registry is a shared SQLite file; with
// PostgreSQL the registry itself elects (store-lease.ts), which can also
// fence the leader's writes. Here the fence is the holder's own clock: work
// is refused once the lease may have run out, but a write already past that
// check when the node stalls still lands.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { notLeader, type LeaderElection } from './leadership.js';

const KEY = 'diemcau:leader';

// Renews only the holder's own lease.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface LeaderLeaseOptions {
  redis: Redis;
  nodeId: string;
  leaseMs: number;
  log: Logger;
}

export class LeaderLease implements LeaderElection {
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  /** Local time by which the lease must have been renewed, or this node stops leading. */
  private validUntil = 0;
  private readonly listeners = new Set<(leading: boolean) => void>();
  private closed = false;

  constructor(private readonly o: LeaderLeaseOptions) {}

  get isLeader(): boolean {
    return this.leading && Date.now() < this.validUntil;
  }

  /** The current holder of the lease, if any. */
  holder(): Promise<string | null> {
    return this.o.redis.get(KEY);
  }

  readonly fence = <T>(fn: () => Promise<T>): Promise<T> => (this.isLeader ? fn() : Promise.reject(notLeader()));

  onChange(listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    void this.round();
  }

  private async round(): Promise<void> {
    if (this.closed) return;
    const { redis, nodeId, leaseMs } = this.o;
    const startedAt = Date.now();
    try {
      const ok = this.leading
        ? (await redis.eval(RENEW, 1, KEY, nodeId, String(leaseMs))) === 1
        : (await redis.set(KEY, nodeId, 'PX', leaseMs, 'NX')) === 'OK';
      // Counted from before the request: the lease in Redis may have started then.
      if (ok) this.validUntil = startedAt + leaseMs - Math.ceil(leaseMs / 10);
      this.set(ok);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'leader lease: Redis did not answer; not leading');
      this.set(false);
    }
    if (this.closed) return;
    this.timer = setTimeout(() => void this.round(), Math.max(50, Math.floor(leaseMs / 3)));
  }

  private set(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.o.log.info(
      { nodeId: this.o.nodeId, leading },
      leading ? 'this node leads the fleet' : 'this node no longer leads the fleet',
    );
    for (const l of [...this.listeners]) {
      try {
        l(leading);
      } catch (err) {
        this.o.log.error({ err }, 'leadership listener failed');
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
    if (was) await this.o.redis.eval(RELEASE, 1, KEY, this.o.nodeId).catch(() => undefined);
  }
}
