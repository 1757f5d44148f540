// The leader lease in PostgreSQL: one row (holder, term, expiry), the expiry
// judged by the server's clock alone, so the nodes' clocks never have to
// agree. A node takes the row when it has expired, raising the term by one;
// the holder renews it every third of the lease, and acts no more once its
// renewal is late by its own clock (lease.ts says how a late or missing
// answer is taken).
//
// Why a row with a term rather than a session advisory lock: a lock lives as
// long as its connection, and the connection of a leader that is stalled
// (SIGSTOP, swapped out, a VM paused) stays open because its kernel still
// answers for it, so the lock would outlive the leader's usefulness; and a
// lock has no number to fence writes with, so "do I still lead" could be
// asked only on that one connection. The term is the fencing token: every
// piece of leader work runs in a transaction that first locks the row FOR
// SHARE and checks holder, term and expiry (fence()). A takeover updates the
// row, so it waits for fenced work in flight to commit, and fenced work
// after it sees the new term and refuses: a stalled leader that wakes up
// cannot act once more. A leader stalled inside a fenced transaction would
// hold the row against the takeover: the transaction tells the server to end
// its session when it sits idle for a lease.
//
// The lease asks on a connection of its own (PgSession), so its renewals
// never queue behind the node's own work in the pool. A holder may renew its
// term even after the row's expiry passed, as long as nobody took the row:
// a takeover raises the term, so holder and term unchanged prove that no
// other node led in between (and no fenced work passed while it was expired).
// A starved holder that renews late thus keeps its term, its memory and its
// timers, instead of a change of leader for nothing.
import type { Logger } from 'pino';
import type { FleetDb } from '../db/database.js';
import { PostgresDb, type PgSession } from '../db/postgres.js';
import type { Migration } from '../db/migrations.js';
import { Lease, type Answer } from './lease.js';
import { notLeader } from './leadership.js';

const ROW = 'fleet';

export const LEASE_MIGRATIONS: Migration[] = [
  {
    name: 'cluster-001-leader-lease',
    sql: `CREATE TABLE cluster_leader (name TEXT PRIMARY KEY, holder TEXT NOT NULL, term INTEGER NOT NULL, expires_at TEXT NOT NULL)`,
    // The expiry is the server's time: only PostgreSQL elects through this row.
    postgres: `CREATE TABLE cluster_leader (name TEXT PRIMARY KEY, holder TEXT NOT NULL, term BIGINT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)`,
  },
];

// Takes the row if it is free or expired; the term only ever grows.
const ACQUIRE = `INSERT INTO cluster_leader (name, holder, term, expires_at)
  VALUES (@name, @holder, 1, clock_timestamp() + CAST(@ms AS DOUBLE PRECISION) * interval '1 millisecond')
  ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, term = cluster_leader.term + 1, expires_at = excluded.expires_at
  WHERE cluster_leader.expires_at <= clock_timestamp()
  RETURNING term`;
// Renews this holder's term, expired or not, unless another node took the row meanwhile.
const RENEW = `UPDATE cluster_leader SET expires_at = clock_timestamp() + CAST(@ms AS DOUBLE PRECISION) * interval '1 millisecond'
  WHERE name = @name AND holder = @holder AND term = @term RETURNING term`;
const RELEASE = `UPDATE cluster_leader SET expires_at = clock_timestamp() WHERE name = @name AND holder = @holder AND term = @term`;
// The fence: the row stays locked (shared) until the work commits; the
// session ends if this transaction ever sits idle for a lease.
const FENCE = `SELECT set_config('idle_in_transaction_session_timeout', @idleMs, true) AS set FROM cluster_leader
  WHERE name = @name AND holder = @holder AND term = @term AND expires_at > clock_timestamp() FOR SHARE`;

export interface StoreLeaseOptions {
  db: FleetDb;
  nodeId: string;
  leaseMs: number;
  log: Logger;
}

export class StoreLease extends Lease {
  private term = 0;
  private ready: Promise<void> | undefined;
  private readonly session: PgSession;

  constructor(private readonly o: StoreLeaseOptions) {
    super(o);
    if (!(o.db instanceof PostgresDb)) throw new Error('the store lease needs PostgreSQL');
    // An answer later than half a lease is no use: ask again.
    this.session = o.db.session(Math.ceil(o.leaseMs / 2));
  }

  /** The term this node leads in (0 before it ever led). */
  get currentTerm(): number {
    return this.term;
  }

  readonly fence = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (!(await this.mayAct())) throw notLeader();
    const term = this.term;
    return this.o.db.tx(async () => {
      const ok = await this.o.db.get(FENCE, {
        name: ROW,
        holder: this.o.nodeId,
        term,
        idleMs: String(this.o.leaseMs),
      });
      if (!ok) throw notLeader();
      return fn();
    });
  };

  start(): void {
    this.ready ??= this.o.db.migrate(LEASE_MIGRATIONS);
    void this.round();
  }

  private async round(): Promise<void> {
    if (this.closed) return;
    const { nodeId, leaseMs } = this.o;
    const startedAt = Date.now();
    let answer: Answer;
    try {
      await this.ready;
      const row = this.leading
        ? await this.session.get<{ term: number }>(RENEW, { name: ROW, holder: nodeId, term: this.term, ms: leaseMs })
        : await this.session.get<{ term: number }>(ACQUIRE, { name: ROW, holder: nodeId, ms: leaseMs });
      if (row && !this.leading) this.term = row.term;
      answer = row ? 'held' : 'lost';
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'leader lease: PostgreSQL did not answer');
      answer = 'unknown';
    }
    this.answered(answer, startedAt, () => this.round());
  }

  protected override logFields(): Record<string, unknown> {
    return { term: this.term };
  }

  /** Lets the row expire now, so the next node need not wait out the lease. */
  protected async release(): Promise<void> {
    try {
      // On the lease's own connection: after any renewal still in flight.
      await this.session.get(RELEASE, { name: ROW, holder: this.o.nodeId, term: this.term });
    } catch (err) {
      this.o.log.warn({ err }, 'leader lease: could not hand the lease back');
    }
  }

  override async close(): Promise<void> {
    await super.close();
    this.session.close();
  }
}
