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
import { Lease } from './lease.js';
import { notLeader } from './leadership.js';

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

export class LeaderLease extends Lease {
  constructor(private readonly o: LeaderLeaseOptions) {
    super(o);
  }

  /** The current holder of the lease, if any. */
  holder(): Promise<string | null> {
    return this.o.redis.get(KEY);
  }

  readonly fence = <T>(fn: () => Promise<T>): Promise<T> => (this.isLeader ? fn() : Promise.reject(notLeader()));

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
      if (ok) this.held(startedAt);
      this.set(ok);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'leader lease: Redis did not answer; not leading');
      this.set(false);
    }
    this.schedule(() => this.round(), Math.floor(leaseMs / 3));
  }

  protected async release(): Promise<void> {
    await this.o.redis.eval(RELEASE, 1, KEY, this.o.nodeId).catch(() => undefined);
  }
}
