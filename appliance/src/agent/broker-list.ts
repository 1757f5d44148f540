import { brokerListCodec } from '@diemcau/shared';
import type { Identity } from './identity.js';

// Whether a box follows a broker list its fleet sends after enrolment
// (shared/src/brokers.ts), decided on plain data, and the one place that
// applies it. The list only ever comes from the fleet over the box's own
// authenticated connection (no device may publish on its topic); on top of
// that a list is refused when it would move the box somewhere its enrolment
// did not trust: from TLS to plain MQTT (the box's password in clear), or to
// a URL carrying credentials of its own. With TLS every broker must present a
// certificate of the CA the box enrolled with (the session trusts only that
// one), so a list cannot hand the box to another fleet: a move to another
// fleet is a signed transfer, not this.

export type BrokerListDecision =
  | { action: 'adopt'; urls: string[] }
  | { action: 'keep' }
  | { action: 'refuse'; reason: 'bad-url' | 'credentials-in-url' | 'downgrade' };

const TLS = new Set(['mqtts:', 'wss:']);
const ALLOWED = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);

/**
 * `enrolledUrl`: the broker the box was given at enrolment (its scheme sets
 * the trust the box keeps); `current`: the list the box holds now.
 */
export function planBrokerList(
  enrolledUrl: string,
  current: readonly string[],
  offered: readonly string[],
): BrokerListDecision {
  const urls = [...new Set(offered)];
  // Anything but a plain scheme counts as TLS: when in doubt, no plain brokers.
  const tls = !/^(mqtt|ws):\/\//.test(enrolledUrl);
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      return { action: 'refuse', reason: 'bad-url' };
    }
    if (!ALLOWED.has(parsed.protocol) || parsed.hostname === '') return { action: 'refuse', reason: 'bad-url' };
    if (parsed.username !== '' || parsed.password !== '') return { action: 'refuse', reason: 'credentials-in-url' };
    if (tls && !TLS.has(parsed.protocol)) return { action: 'refuse', reason: 'downgrade' };
  }
  if (urls.length === current.length && urls.every((u, i) => u === current[i])) return { action: 'keep' };
  return { action: 'adopt', urls };
}

export interface BrokerListLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/**
 * Applies what the fleet sends: decodes, plans, stores the list in the
 * identity file (atomically, fsynced, before the session uses it, so a box
 * that restarts right after knows it), then hands it to the session.
 * Offers are handled one at a time, in order.
 */
export class BrokerListKeeper {
  private chain: Promise<void> = Promise.resolve();
  refused = 0;

  constructor(
    /** The identity now, or a getter for it (it changes when the box follows a move: agent/move.ts). */
    private readonly identity: Identity | (() => Identity),
    private readonly save: (identity: Identity) => Promise<void>,
    private readonly apply: (urls: readonly string[]) => void,
    private readonly log: BrokerListLog,
  ) {}

  /** Never rejects; a bad offer is counted and logged. */
  offer(payload: Buffer): Promise<void> {
    this.chain = this.chain.then(() => this.handle(payload));
    return this.chain;
  }

  private async handle(payload: Buffer): Promise<void> {
    if (payload.length === 0) return; // the fleet cleared its list: keep ours
    const decoded = brokerListCodec.decode(payload);
    if (!decoded.ok) {
      this.refused++;
      this.log.warn({ code: decoded.error.code, reason: decoded.error.message }, 'broker list refused: unreadable');
      return;
    }
    const me = typeof this.identity === 'function' ? this.identity() : this.identity;
    const { mqtt } = me;
    const decision = planBrokerList(mqtt.url, mqtt.urls ?? [mqtt.url], decoded.value.urls);
    if (decision.action === 'keep') return;
    if (decision.action === 'refuse') {
      this.refused++;
      this.log.warn({ reason: decision.reason, offered: decoded.value.urls }, 'broker list refused');
      return;
    }
    const next: Identity = { ...me, mqtt: { ...mqtt, urls: decision.urls } };
    try {
      await this.save(next);
    } catch (err) {
      this.log.warn({ err: { message: (err as Error).message } }, 'broker list not stored; not used');
      return;
    }
    me.mqtt.urls = decision.urls;
    this.apply(decision.urls);
    this.log.info({ urls: decision.urls }, 'broker list from the fleet stored');
  }
}
