// One end of a cascade link, the same code on both edges. What goes out: a
// stream of this router that someone beyond the link receives is consumed on
// the pipe transport and announced to the peer ('produce' with our producer's
// id and the consumer's RTP parameters); its pause/resume/close follow. What
// comes in: the peer's announcements are produced on our pipe transport under
// an id of our own, and paused/resumed/closed in step. The id on the wire is
// the sender's own producer id and names the stream on that link only: each
// edge maps it to its local producer. A stream therefore has a different id at
// every edge, so several edges of one meeting can share a mediasoup worker (a
// worker refuses a second producer under an id it already has); the site and
// origin edge travel with it.
//
// Only what flows (forwarding.ts flows()): every stream of the room is a
// candidate for the link, but it is announced only once the host says it
// crosses in this link's direction. One that stops crossing is paused on our
// side of the pipe (announced paused, so the peer's copy and everything
// downstream of it read paused too), and closed after a grace period
// (reapAfterMs), which closes every copy beyond the link. The peer sees one
// "paused" whatever the reason: a muted microphone or a camera not shown.
// A warm room's streams (forwarding.ts warmSites()) are announced held back
// even before anyone wants them, and are not closed while the room stays warm.
import type { Logger } from 'pino';
import type { LinkStats } from '@diemcau/shared';
import type { Outlet, PipeLink, RtpParameters, Stream } from '../adapter/index.js';
import type { Refusals } from '../limits.js';
import type { LinkEvent, WireRtpParameters } from './protocol.js';
import type { SiteAdmission } from './admission.js';
import type { RosterEntry } from '../roster.js';
import type { LinkDirection } from '../forwarding.js';

/** What the peer edge may make us hold over one link. */
export interface BridgeLimits {
  /** Streams the peer may announce (every site behind it sends two or three, each browser a few). */
  maxStreams: number;
  refusals: Refusals;
  /** How long a stream nobody beyond the link receives stays announced (paused) before it is closed. */
  reapAfterMs?: number;
}

/** A stream held back this long is closed on the link: a speaker who comes back sooner finds it open. */
export const REAP_AFTER_MS = 6000;

/** Events waiting to be applied: past this the peer sends faster than we apply, and the link is closed. */
const MAX_INBOX = 4096;
/**
 * Streams refused for their site on one link before the link is closed. A box
 * with a stale plan has a few (two per site it should not name); hundreds are
 * a peer probing or flooding the log, and the reconnect backoff slows it down.
 */
const MAX_SITE_REFUSALS = 64;

/** The room's side of a bridge. */
export interface BridgeHost {
  /** A stream came in over the bridge. */
  addStream(stream: Stream, via: PipeBridge): void;
  /** Whether one of our streams crosses this link now (forwarding.ts flows(), by the link's direction). */
  flows(stream: Stream, via: PipeBridge): boolean;
  /**
   * Of a camera that flows, whether this layer (full or small picture) crosses
   * this link: what the TVs beyond it show (layers.ts). Always true for sound.
   */
  carriesLayer(stream: Stream, via: PipeBridge): boolean;
  /**
   * Of a stream that does not flow, whether it is kept announced (held back)
   * on this link: a warm room's (forwarding.ts warmSites()).
   */
  keepsWarm(stream: Stream, via: PipeBridge): boolean;
  /** The upstream told us the meeting's recent speakers and its warm rooms. */
  setSpeakers(siteIds: string[], warm: string[], via: PipeBridge): void;
  /** The peer sent its roster (roster.ts): its side of the cascade from below, the meeting from above. */
  setRoster(entries: RosterEntry[], via: PipeBridge): void;
  /**
   * Whether the peer behind `via` may announce streams of this site now
   * (admission.ts admitSite, against the current plan). A stream refused here
   * is never produced: nothing forwards it, consumes it or hears it speak.
   */
  admitSite(siteId: string, via: PipeBridge): SiteAdmission;
}

interface Out {
  stream: Stream;
  outlet: Outlet;
  /** What the peer was last told: paused or not. */
  announcedPaused: boolean;
  /** When we started holding it back (nobody beyond the link receives it); null while it flows. */
  heldSince: number | null;
}

export class PipeBridge {
  /** Streams of the room this link may carry, with what unsubscribes from them. */
  private readonly candidates = new Map<string, { stream: Stream; off: () => void }>();
  /** The candidates announced to the peer, flowing or held back. */
  private readonly outlets = new Map<string, Out>();
  private readonly reaper: NodeJS.Timeout;
  /** Streams the peer sent us, by the id the peer announced them under (the link's stream id). */
  private readonly incoming = new Map<string, Stream>();
  /** The local ids of those streams: never offered back over the link they came in on. */
  private readonly incomingLocal = new Set<string>();
  // Incoming events run one at a time, in order: a 'pause' must not overtake
  // the 'produce' it refers to.
  private inbox: Promise<void> = Promise.resolve();
  private inboxSize = 0;
  private siteRefusals = 0;
  // Outgoing changes run one at a time too: an outlet is paused or resumed,
  // then the peer told, before the next change to it starts.
  private outbox: Promise<void> = Promise.resolve();
  private closed = false;
  state: LinkStats['state'] = 'connecting';
  rttMs: number | null = null;

  constructor(
    readonly pipe: PipeLink,
    readonly peerEdgeId: string,
    readonly direction: LinkDirection,
    private readonly host: BridgeHost,
    private readonly send: (ev: LinkEvent) => void,
    private readonly log: Logger,
    private readonly limits?: BridgeLimits,
  ) {
    const after = limits?.reapAfterMs ?? REAP_AFTER_MS;
    this.reaper = setInterval(() => void this.serially(() => this.reap(after)), Math.max(50, after / 2));
    this.reaper.unref();
    // Its router closing closes the pipe: the reaper and the candidates' listeners go with it.
    pipe.events.on('close', () => this.close());
  }

  get id(): string {
    return this.pipe.id;
  }
  get isClosed(): boolean {
    return this.closed || this.pipe.closed;
  }

  /**
   * A stream of the room this link may carry (once; a second offer of the same
   * stream is ignored). It crosses when the host says it flows, now or later.
   */
  offer(stream: Stream): Promise<void> {
    if (this.isClosed || stream.closed || this.candidates.has(stream.id) || this.incomingLocal.has(stream.id))
      return Promise.resolve();
    // A microphone that opens or closes at its source may start or stop crossing.
    const offs = [
      stream.events.on('pause', () => void this.serially(() => this.settle(stream))),
      stream.events.on('resume', () => void this.serially(() => this.settle(stream))),
      stream.events.on('close', () => this.forget(stream.id)),
    ];
    this.candidates.set(stream.id, { stream, off: () => offs.forEach((off) => off()) });
    return this.serially(() => this.settle(stream));
  }

  /** Forwarding changed (chair controls, speakers): open, hold back or let through each candidate. */
  refresh(): Promise<void> {
    return this.serially(async () => {
      for (const { stream } of [...this.candidates.values()]) await this.settle(stream);
    });
  }

  private forget(streamId: string): void {
    this.candidates.get(streamId)?.off();
    this.candidates.delete(streamId);
  }

  // Brings one candidate in line with the host's decision: announced and
  // flowing, announced and held back, or (never wanted yet) not announced.
  // A warm one is announced held back, and held without a deadline.
  private async settle(stream: Stream): Promise<void> {
    if (stream.closed || !this.candidates.has(stream.id)) return;
    const wanted = this.host.flows(stream, this) && this.host.carriesLayer(stream, this);
    const warm = !wanted && this.host.keepsWarm(stream, this);
    const out = this.outlets.get(stream.id);
    if (!out) {
      if (wanted || warm) await this.announce(stream, warm);
      return;
    }
    if (wanted) {
      out.heldSince = null;
      if (out.outlet.paused) await out.outlet.resume();
    } else {
      out.heldSince = warm ? null : (out.heldSince ?? performance.now());
      if (!out.outlet.paused) await out.outlet.pause();
    }
    this.sync(out);
  }

  // Consumes the stream on the pipe and tells the peer: from here it crosses
  // (or, `held`, may cross: announced paused, nothing sent until it is resumed).
  private async announce(stream: Stream, held: boolean): Promise<void> {
    let outlet: Outlet;
    try {
      outlet = await this.pipe.consume(stream.id);
    } catch (err) {
      // The stream or the link closed while we were at it: nothing to send.
      if (!this.isClosed && !stream.closed) this.log.warn({ err, producerId: stream.id }, 'pipe consume failed');
      return;
    }
    if (this.isClosed) return outlet.close();
    // A pipe consumer starts flowing: pause it before the peer hears of it.
    if (held) await outlet.pause();
    const out: Out = { stream, outlet, announcedPaused: outlet.paused || outlet.producerPaused, heldSince: null };
    this.outlets.set(stream.id, out);
    outlet.events.on('producerpause', () => void this.serially(() => this.sync(out)));
    outlet.events.on('producerresume', () => void this.serially(() => this.sync(out)));
    outlet.events.on('producerclose', () => this.send({ type: 'close', producerId: stream.id }));
    outlet.events.on('close', () => {
      if (this.outlets.get(stream.id) === out) this.outlets.delete(stream.id);
    });
    this.send({
      type: 'produce',
      producerId: stream.id,
      kind: stream.kind,
      rtpParameters: outlet.rtpParameters as unknown as WireRtpParameters,
      paused: out.announcedPaused,
      siteId: stream.info.siteId,
      originEdgeId: stream.info.originEdgeId,
      ...(stream.info.layer === 'small' ? { layer: 'small' as const } : {}),
    });
  }

  // Closes what has been held back for `after` ms: the peer closes its copy,
  // and with it every copy and consumer beyond it. Announced anew if wanted again.
  private reap(after: number): void {
    const now = performance.now();
    for (const out of [...this.outlets.values()]) {
      if (out.heldSince === null || now - out.heldSince < after || out.outlet.closed) continue;
      this.outlets.delete(out.stream.id);
      out.outlet.close();
      this.send({ type: 'close', producerId: out.stream.id });
    }
  }

  /** Passes the roster on (roster.ts). */
  sendRoster(entries: readonly RosterEntry[]): void {
    if (!this.isClosed) this.send({ type: 'roster', sites: [...entries] });
  }

  /** Passes the meeting's speakers and warm rooms on to a downstream edge. */
  sendSpeakers(siteIds: readonly string[], warm: readonly string[]): void {
    if (!this.isClosed) this.send({ type: 'speakers', siteIds: [...siteIds], warm: [...warm] });
  }

  // Tells the peer when what it receives changed between flowing and paused.
  private sync(out: Out): void {
    if (out.outlet.closed || !this.outlets.has(out.stream.id)) return;
    const paused = out.outlet.paused || out.outlet.producerPaused;
    if (paused === out.announcedPaused) return;
    out.announcedPaused = paused;
    this.send({ type: paused ? 'pause' : 'resume', producerId: out.stream.id });
  }

  private serially(fn: () => Promise<void> | void): Promise<void> {
    this.outbox = this.outbox
      .then(async () => {
        if (!this.isClosed) await fn();
      })
      .catch((err: unknown) => {
        if (!this.isClosed) this.log.warn({ err }, 'link forwarding change failed');
      });
    return this.outbox;
  }

  /** Handles one event from the peer, in arrival order. Never throws. */
  receive(ev: LinkEvent): Promise<void> {
    if (this.inboxSize >= MAX_INBOX) {
      // A flood of events would hold memory without end: the link goes, the peer reconnects.
      this.limits?.refusals.note(
        'link-inbox-overflow',
        'link events arrive faster than they are applied; link closed',
        { peer: this.peerEdgeId, linkId: this.id },
      );
      this.close();
      return this.inbox;
    }
    this.inboxSize += 1;
    this.inbox = this.inbox
      .then(() => this.apply(ev))
      .catch((err: unknown) => {
        this.log.warn({ err, event: ev.type }, 'link event failed');
      })
      .finally(() => {
        this.inboxSize -= 1;
      });
    return this.inbox;
  }

  private async apply(ev: LinkEvent): Promise<void> {
    if (this.isClosed) return;
    switch (ev.type) {
      case 'produce': {
        if (this.incoming.has(ev.producerId)) return;
        const admitted = this.host.admitSite(ev.siteId, this);
        if (!admitted.ok) {
          // Counted and logged, not fatal: the peer may be a box with a stale
          // plan; its other streams still come in.
          this.refuseSite(admitted, {
            producerId: ev.producerId,
            siteId: ev.siteId,
            originEdgeId: ev.originEdgeId,
            kind: ev.kind,
          });
          if (++this.siteRefusals >= MAX_SITE_REFUSALS) {
            this.limits?.refusals.note(
              'link-site-refusals',
              `${this.peerEdgeId} announced ${this.siteRefusals} streams under sites it may not name; link closed`,
              { peer: this.peerEdgeId, linkId: this.id },
            );
            this.close();
          }
          return;
        }
        if (this.limits && this.incoming.size >= this.limits.maxStreams) {
          // Counted and logged, not fatal: the stream is simply not taken in.
          this.limits.refusals.refuse(
            'APPL_ERR_MEDIA_LIMIT',
            'link-streams',
            `${this.peerEdgeId} announced more than ${this.limits.maxStreams} streams on one link`,
            { peer: this.peerEdgeId, linkId: this.id, producerId: ev.producerId },
          );
          return;
        }
        // mediasoup picks the local id; the peer's id stays the key on this link.
        const stream = await this.pipe.produce({
          kind: ev.kind,
          rtpParameters: ev.rtpParameters as unknown as RtpParameters,
          paused: ev.paused,
          info: { siteId: ev.siteId, originEdgeId: ev.originEdgeId, ...(ev.layer ? { layer: ev.layer } : {}) },
        });
        this.incoming.set(ev.producerId, stream);
        this.incomingLocal.add(stream.id);
        stream.events.on('close', () => {
          if (this.incoming.get(ev.producerId) === stream) this.incoming.delete(ev.producerId);
          this.incomingLocal.delete(stream.id);
        });
        this.host.addStream(stream, this);
        return;
      }
      case 'pause':
        return this.incoming.get(ev.producerId)?.pause();
      case 'resume':
        return this.incoming.get(ev.producerId)?.resume();
      case 'close':
        return this.incoming.get(ev.producerId)?.close();
      case 'speakers':
        // Only the upstream speaks for the meeting; a downstream edge cannot steer it.
        if (this.direction === 'up') this.host.setSpeakers(ev.siteIds, ev.warm ?? [], this);
        else this.log.warn({ peer: this.peerEdgeId }, 'speakers event from a downstream edge ignored');
        return;
      case 'roster':
        this.host.setRoster(ev.sites, this);
        return;
      case 'ping':
        if (ev.rttMs !== undefined) this.rttMs = ev.rttMs;
        return;
    }
  }

  /**
   * The plan changed: streams that came in under a site the peer may no longer
   * announce are closed (and with them every copy and consumer downstream).
   */
  readmit(): void {
    for (const [wireId, stream] of [...this.incoming]) {
      const admitted = this.host.admitSite(stream.info.siteId, this);
      if (admitted.ok) continue;
      this.refuseSite(admitted, {
        producerId: wireId,
        localId: stream.id,
        siteId: stream.info.siteId,
        originEdgeId: stream.info.originEdgeId,
        kind: stream.kind,
        admittedBefore: true,
      });
      stream.close();
    }
  }

  private refuseSite(admitted: { reason: string; detail: string }, fields: Record<string, unknown>): void {
    const all = { peer: this.peerEdgeId, direction: this.direction, linkId: this.id, ...fields };
    if (this.limits) this.limits.refusals.refuse('APPL_ERR_MEDIA_FORBIDDEN', admitted.reason, admitted.detail, all);
    else this.log.warn({ reason: admitted.reason, ...all }, `refused: ${admitted.detail}`);
  }

  /** Streams flowing out over the link now (announced but paused ones do not count). */
  get sendStreams(): number {
    return [...this.outlets.values()].filter((o) => !o.announcedPaused).length;
  }
  /** Streams flowing in over the link now. */
  get recvStreams(): number {
    return [...this.incoming.values()].filter((s) => !s.paused).length;
  }
  /** Streams announced out over the link, flowing or held back (not yet reaped). */
  get announcedStreams(): number {
    return this.outlets.size;
  }
  get incomingStreams(): Stream[] {
    return [...this.incoming.values()];
  }

  async stats(): Promise<LinkStats> {
    const t = await this.pipe.stats();
    let packets = 0;
    let packetsLost = 0;
    let jitterMs = 0;
    for (const s of this.incoming.values()) {
      const st = await s.stats();
      packets += st.packets;
      packetsLost += st.packetsLost;
      jitterMs = Math.max(jitterMs, st.jitterMs);
    }
    const total = packets + packetsLost;
    return {
      peerEdgeId: this.peerEdgeId,
      direction: this.direction,
      state: this.isClosed ? 'failed' : this.state,
      sendBitrateBps: t.sendBitrateBps,
      recvBitrateBps: t.recvBitrateBps,
      sendStreams: this.sendStreams,
      recvStreams: this.recvStreams,
      packetsLost,
      lossRate: total > 0 ? packetsLost / total : 0,
      jitterMs,
      rttMs: this.rttMs,
    };
  }

  /** Closes the pipe transport: every stream that came in over it closes too. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state = 'failed';
    clearInterval(this.reaper);
    for (const id of [...this.candidates.keys()]) this.forget(id);
    this.pipe.close();
  }
}
