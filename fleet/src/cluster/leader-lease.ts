// The leader lease: one key in Redis, set only if absent, with an expiry.
// The holder renews it every third of the lease; a node whose key was taken
// or expired stops leading, and one whose renewal is late acts no more
// (lease.ts), so two nodes never both act while Redis' clock and theirs
// agree to within the margin. A node that dies stops renewing; another takes
// the key within one lease. A key that expired is lost even if nobody took
// it: unlike the store's term, a key carries nothing that proves nobody led
// in between.
//
// This is the lease of a cluster whose registry is a shared SQLite file; with
// PostgreSQL the registry itself elects (store-lease.ts), which can also
// fence the leader's writes. Here the fence is the holder's own clock: work
// is refused once the lease may have run out, but a write already past that
// check when the node stalls still lands.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Lease, type Answer } from './lease.js';
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

  readonly fence = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (!(await this.mayAct())) throw notLeader();
    return fn();
  };

  start(): void {
    void this.round();
  }

  private async round(): Promise<void> {
    if (this.closed) return;
    const { redis, nodeId, leaseMs } = this.o;
    const startedAt = Date.now();
    let answer: Answer;
    try {
      const ok = this.leading
        ? (await redis.eval(RENEW, 1, KEY, nodeId, String(leaseMs))) === 1
        : (await redis.set(KEY, nodeId, 'PX', leaseMs, 'NX')) === 'OK';
      answer = ok ? 'held' : 'lost';
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'leader lease: Redis did not answer');
      answer = 'unknown';
    }
    this.answered(answer, startedAt, () => this.round());
  }

  protected async release(): Promise<void> {
    await this.o.redis.eval(RELEASE, 1, KEY, this.o.nodeId).catch(() => undefined);
  }
}
