// What the two leader leases (store-lease.ts, leader-lease.ts) share: the
// local deadline, the listeners told of each change of lead, the timing of
// rounds, how an answer is taken, and the graceful close. Each lease keeps
// its own round (how it asks its store) and says how it hands the lease back.
//
// A starved node must not lose the lead for nothing, and two nodes must never
// both act. So an answer is one of three:
// - held: the store renewed this node's term. Its validity counts from when
//   the request left, whenever the answer came: a slow answer that confirms
//   the term keeps the lead (it is renewed again at once if late).
// - lost: the store refused (another holder or a new term). The lead ends.
// - unknown: no answer (an error, a timeout). The lead is suspended, not
//   ended: the node acts no more once its validity has run out, and asks again
//   soon; it gives the lead up only a whole lease after that, when the store
//   must have let the term go.
// While suspended, leader work waits for the next answer instead of being
// refused (mayAct), so a pause of the event loop or of the store drops none.
import type { Logger } from 'pino';
import type { Fence, LeaderElection } from './leadership.js';

export interface LeaseOptions {
  nodeId: string;
  leaseMs: number;
  log: Logger;
}

export type Answer = 'held' | 'lost' | 'unknown';

export abstract class Lease implements LeaderElection {
  protected leading = false;
  protected closed = false;
  /** Local time by which the lease must have been renewed, or this node acts no more. */
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(leading: boolean) => void>();
  /** Leader work waiting for the next answer while the lead is suspended. */
  private waiting: Array<() => void> = [];

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
   * Whether this node may act now. A leader whose renewal is late (its
   * event loop starved, the store slow) waits for the answer: confirmed, it
   * acts; refused or given up, it does not.
   */
  protected async mayAct(): Promise<boolean> {
    while (this.leading && !this.isValid() && !this.closed) await new Promise<void>((r) => this.waiting.push(r));
    return this.isLeader;
  }

  /**
   * Takes the answer of a round whose request left at startedAt, and
   * schedules the next round: a holder renews every third of the lease,
   * counted from its last request (not from the answer), and at once when
   * the answer came late; a node that does not lead asks every fifth.
   */
  protected answered(answer: Answer, startedAt: number, next: () => Promise<void>): void {
    const { leaseMs } = this.base;
    if (this.closed) return this.settle();
    if (answer === 'held') {
      // Counted from before the request, since the store's expiry was set after it, less a tenth as a margin.
      this.validUntil = startedAt + leaseMs - Math.ceil(leaseMs / 10);
      this.set(true);
    } else if (answer === 'lost') {
      this.set(false);
    } else if (this.leading && Date.now() > this.validUntil + leaseMs) {
      this.base.log.warn({ nodeId: this.base.nodeId }, 'leader lease: no answer for a whole lease; giving up the lead');
      this.set(false);
    }
    const wait = !this.leading
      ? leaseMs / 5
      : answer === 'unknown'
        ? leaseMs / 10
        : this.isValid()
          ? startedAt + leaseMs / 3 - Date.now()
          : 0;
    this.settle();
    if (this.closed) return;
    this.timer = setTimeout(() => void next(), Math.max(answer === 'held' ? 0 : 50, Math.floor(wait)));
  }

  /** Fields the change-of-lead log line carries besides the node and its lead. */
  protected logFields(): Record<string, unknown> {
    return {};
  }

  private settle(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
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

  /** Stops renewing and hands the lease back at once (a graceful stop: the next node takes over without waiting). Safe twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const was = this.leading;
    this.set(false);
    this.settle();
    if (was) await this.release();
  }
}
