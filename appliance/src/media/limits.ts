// What one peer can make the edge hold. A browser is bounded in peers per
// token, transports, producers and consumers per peer, and the edge in peers
// overall; every refusal is counted by reason and logged, so an operator can
// tell a flood from a misconfigured room. Limits are settings (config.ts).
import type { Logger } from 'pino';
import { DiemcauError, type ErrorCode } from '@diemcau/shared';

export interface PeerLimits {
  /** Browser peers on the whole edge, every meeting and token together. */
  maxPeers: number;
  /** Browser peers one token may hold at once. */
  maxPeersPerToken: number;
  maxTransportsPerPeer: number;
  maxProducersPerPeer: number;
  maxConsumersPerPeer: number;
  /**
   * Consumers all peers of one token may hold together: peers per token times
   * consumers per peer would otherwise let one token take hundreds of MiB
   * (25,000 consumers grew the edge and its worker by 340 MiB in bench:abuse-edge).
   */
  maxConsumersPerToken: number;
  /** A peer that has connected no transport after this long is closed. */
  peerIdleMs: number;
  /** Streams a peer edge may announce over one cascade link. */
  maxStreamsPerLink: number;
}

/** Refusals by reason (stable short names), for the admin's refusals route, logs and the abuse bench. */
export class Refusals {
  private readonly counts = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  /** Counts and logs the refusal; returns the error to throw. */
  refuse(code: ErrorCode, reason: string, detail: string, fields: Record<string, unknown> = {}): DiemcauError {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    this.log.warn({ reason, code, ...fields }, `refused: ${detail}`);
    return new DiemcauError(code, detail, { details: { reason } });
  }

  /** Counts and logs something the edge did to bound a peer (not an answer to a request). */
  note(reason: string, detail: string, fields: Record<string, unknown> = {}): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    this.log.info({ reason, ...fields }, detail);
  }

  count(reason: string): number {
    return this.counts.get(reason) ?? 0;
  }
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

/**
 * The edge-wide share of browser peers (per token and in total) and of their
 * consumers (per token). A room takes a share when a peer joins or consumes
 * and gives it back when the peer or consumer closes, however it closes (left,
 * reaped, gone, room closed, worker died).
 */
export class PeerBudget {
  private readonly byToken = new Map<string, number>();
  private readonly consumersByToken = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly limits: PeerLimits,
    private readonly refusals: Refusals,
  ) {}

  get peers(): number {
    return this.total;
  }

  /** `token` names the credential (never the secret itself). Throws a counted 429 when full. */
  take(token: string): void {
    const mine = this.byToken.get(token) ?? 0;
    if (mine >= this.limits.maxPeersPerToken) {
      throw this.refusals.refuse(
        'APPL_ERR_MEDIA_LIMIT',
        'peers-per-token',
        `this token already holds ${mine} peers (limit ${this.limits.maxPeersPerToken})`,
        { token },
      );
    }
    if (this.total >= this.limits.maxPeers) {
      throw this.refusals.refuse(
        'APPL_ERR_MEDIA_LIMIT',
        'peers-total',
        `the edge already holds ${this.total} peers (limit ${this.limits.maxPeers})`,
        { token },
      );
    }
    this.byToken.set(token, mine + 1);
    this.total += 1;
  }

  give(token: string): void {
    if (decrement(this.byToken, token)) this.total -= 1;
  }

  takeConsumer(token: string): void {
    const mine = this.consumersByToken.get(token) ?? 0;
    if (mine >= this.limits.maxConsumersPerToken) {
      throw this.refusals.refuse(
        'APPL_ERR_MEDIA_LIMIT',
        'consumers-per-token',
        `this token's peers already hold ${mine} consumers (limit ${this.limits.maxConsumersPerToken})`,
        { token },
      );
    }
    this.consumersByToken.set(token, mine + 1);
  }

  giveConsumer(token: string): void {
    decrement(this.consumersByToken, token);
  }
}

function decrement(m: Map<string, number>, key: string): boolean {
  const n = m.get(key) ?? 0;
  if (n <= 0) return false;
  if (n === 1) m.delete(key);
  else m.set(key, n - 1);
  return true;
}
