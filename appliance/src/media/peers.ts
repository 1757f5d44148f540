// Browsers in a meeting (laptops and tablets in the room, a travelling leader):
// each is a peer with WebRTC transports made by mediasoup-client on the page.
// What a browser sends enters the room like the room's own camera, so it is
// forwarded up and down the cascade; what it receives it consumes here.
// A browser that goes away without saying so (tab closed, laptop gone) is
// noticed by its transports (DTLS closed, ICE disconnected for 30 s) and closed.
//
// Every peer is bounded (limits.ts): it takes a share of the edge's peer
// budget for its token, holds at most so many transports, producers and
// consumers (requests in flight count, so a burst cannot slip past), and is
// closed when it connects no transport in time. Closing it gives all back.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DiemcauError } from '@diemcau/shared';
import type {
  ListenOptions,
  Outlet,
  RoomRouter,
  RtpParameters,
  Stream,
  StreamInfo,
  WebRtcParams,
  WebRtcPort,
} from './adapter/index.js';
import { layerOf, type View } from './layers.js';
import type { PeerBudget, PeerLimits, Refusals } from './limits.js';
import {
  MONITOR_MAX_CONSUMERS,
  MONITOR_MAX_TRANSPORTS,
  monitorRefusal,
  monitorStale,
  type PeerRole,
} from './monitor.js';

/**
 * Runs a worker call on parameters a browser sent. mediasoup checks them and
 * throws a TypeError when they are malformed: that is the browser's fault, a
 * 400 naming the field, not a 500 of the edge.
 */
async function browserParams<T>(field: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof TypeError)
      throw new DiemcauError('PROTO_ERR_SCHEMA', `${field}: ${err.message}`.slice(0, 200), { cause: err });
    throw err;
  }
}

interface Peer {
  id: string;
  siteId: string;
  /** Which credential made it (a label, never the secret): its budget share. */
  token: string;
  /** A join link's listener and the chair's monitor receive only; everyone else may send. */
  role: PeerRole;
  /** The id (`jti`) of the join link that opened it: revoking that link closes it. Null for the TV's and admin tokens. */
  linkId: string | null;
  transports: Map<string, WebRtcPort>;
  outlets: Map<string, Outlet>;
  producers: Set<string>;
  /** Streams it consumes (producer ids): one consumer per stream. */
  consuming: Set<string>;
  /** How it lays the meeting out: decides which picture of each camera it gets (layers.ts). */
  view: View;
  /** Its video consumers the browser has resumed: the edge holds back those of a layer it does not pick. */
  ready: Set<Outlet>;
  /** Requests under way, counted against the limits with what exists. */
  pending: { transports: number; producers: number; consumers: number };
  idle: NodeJS.Timeout | null;
  /** A monitor's end: it watches no longer than the fleet's link allows. */
  expiry: NodeJS.Timeout | null;
}

export interface ConsumeAnswer {
  id: string;
  producerId: string;
  kind: 'audio' | 'video';
  rtpParameters: RtpParameters;
  siteId: string;
}

export interface PeerSetOptions {
  router: RoomRouter;
  listen: ListenOptions;
  edgeId: string;
  /** Site a browser's streams are shown as: the room's own site, or the edge for a guest on the core. */
  siteOf: () => string;
  findStream: (producerId: string) => Stream | undefined;
  addStream: (s: Stream) => void;
  /** Per site, the video stream a browser of this view gets now (the room's pick, layers.ts). */
  picks: (view: View) => Map<string, string>;
  /** Whether the chair's controls leave this participant's microphone open (room-planner.ts participantMicOpen). */
  micOpen: (participantId: string) => boolean;
  /** The site the roll call has reached, as this edge's plan says: all a monitor may watch (monitor.ts). */
  rollCallSiteId: () => string | null;
  limits: PeerLimits;
  budget: PeerBudget;
  refusals: Refusals;
  log: Logger;
}

type Counted = 'transports' | 'producers' | 'consumers';

export class PeerSet {
  private readonly peers = new Map<string, Peer>();
  private count = 0;
  private layering: Promise<void> = Promise.resolve();

  constructor(private readonly o: PeerSetOptions) {}

  get size(): number {
    return this.peers.size;
  }

  /**
   * `link`: the join link that opened it, by id and expiry (a monitor is
   * closed when it expires; any peer when it is revoked).
   */
  create(
    token: string,
    role: PeerRole = 'participant',
    view: View = 'grid',
    link?: { id: string; expiresAtMs: number },
  ): { peerId: string; participantId: string; rtpCapabilities: unknown } {
    const expiresAtMs = link?.expiresAtMs;
    this.o.budget.take(token);
    const id = randomUUID();
    this.count += 1;
    const peer: Peer = {
      id,
      token,
      role,
      linkId: link?.id ?? null,
      // A monitor lays nothing out: it gets the layer a grid gets (the small one where present).
      view: role === 'monitor' ? 'grid' : view,
      siteId: `${this.o.siteOf()}.web${this.count}`.slice(0, 64),
      transports: new Map(),
      outlets: new Map(),
      producers: new Set(),
      consuming: new Set(),
      ready: new Set(),
      pending: { transports: 0, producers: 0, consumers: 0 },
      idle: null,
      expiry: null,
    };
    // A peer that never connects holds its share (and maybe ports) for nothing.
    peer.idle = setTimeout(() => {
      peer.idle = null;
      this.o.refusals.note('peer-idle', 'browser connected no transport in time; closed', {
        peerId: id,
        afterMs: this.o.limits.peerIdleMs,
      });
      this.close(id);
    }, this.o.limits.peerIdleMs);
    peer.idle.unref();
    // A link is checked on every request, but a picture flows without one: a
    // monitor whose link expired would go on watching. The console asks for a
    // fresh link when its page says so (a guest keeps its meeting: not here).
    if (role === 'monitor' && expiresAtMs !== undefined) {
      peer.expiry = setTimeout(
        () => {
          peer.expiry = null;
          this.o.refusals.note('monitor-link-expired', "the monitor's link expired; closed", { peerId: id });
          this.close(id);
        },
        Math.max(0, expiresAtMs - Date.now()),
      );
      peer.expiry.unref();
    }
    this.peers.set(id, peer);
    this.o.log.info({ peerId: id, participantId: peer.siteId }, 'browser joined');
    return { peerId: id, participantId: peer.siteId, rtpCapabilities: this.o.router.rtpCapabilities };
  }

  /**
   * The fleet revoked these links: the browsers that joined with them are
   * closed now (their transports, streams and budget share go), not at their
   * next request. Returns the participants closed (the room drops their hands).
   */
  revoke(linkIds: ReadonlySet<string>): string[] {
    const closed: string[] = [];
    for (const peer of [...this.peers.values()]) {
      if (peer.linkId === null || !linkIds.has(peer.linkId)) continue;
      this.o.refusals.note('join-link-revoked', 'its join link was revoked; closed', {
        peerId: peer.id,
        participantId: peer.siteId,
      });
      this.close(peer.id);
      closed.push(peer.siteId);
    }
    return closed;
  }

  /** Participants present now (a request to speak from one that left is dropped). */
  participants(): Set<string> {
    return new Set([...this.peers.values()].map((p) => p.siteId));
  }

  /** The site id a peer's streams carry (`<site>.web<n>`): how the meeting names this participant. */
  participantOf(peerId: string): string {
    return this.peer(peerId).siteId;
  }

  async createTransport(peerId: string): Promise<WebRtcParams> {
    const peer = this.peer(peerId);
    const max = peer.role === 'monitor' ? MONITOR_MAX_TRANSPORTS : this.o.limits.maxTransportsPerPeer;
    const t = await this.within(peer, 'transports', peer.transports.size, max, () =>
      this.o.router.createWebRtc(this.o.listen),
    );
    if (!this.peers.has(peerId)) {
      t.close();
      throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', `no peer ${peerId}`);
    }
    peer.transports.set(t.id, t);
    t.events.on('close', () => peer.transports.delete(t.id));
    t.presence.on('gone', (why) => {
      this.o.log.info({ peerId, why }, 'browser gone');
      this.close(peerId);
    });
    return t.params;
  }

  async connect(peerId: string, transportId: string, dtlsParameters: unknown): Promise<void> {
    const peer = this.peer(peerId);
    await browserParams('dtlsParameters', () => this.transport(peerId, transportId).connect(dtlsParameters));
    if (peer.idle) clearTimeout(peer.idle);
    peer.idle = null;
  }

  async produce(
    peerId: string,
    transportId: string,
    kind: 'audio' | 'video',
    rtpParameters: unknown,
  ): Promise<{ id: string }> {
    const peer = this.peer(peerId);
    if (peer.role !== 'participant') {
      throw this.o.refusals.refuse(
        'APPL_ERR_MEDIA_FORBIDDEN',
        `join-link-${peer.role}`,
        `a ${peer.role} link only receives`,
        { peerId },
      );
    }
    const info: StreamInfo = { siteId: peer.siteId, originEdgeId: this.o.edgeId };
    const transport = this.transport(peerId, transportId);
    const stream = await this.within(peer, 'producers', peer.producers.size, this.o.limits.maxProducersPerPeer, () =>
      browserParams('rtpParameters', () =>
        transport.produce({ kind, rtpParameters: rtpParameters as RtpParameters, info }),
      ),
    );
    peer.producers.add(stream.id);
    stream.events.on('close', () => peer.producers.delete(stream.id));
    // A microphone the chair has closed enters the meeting closed.
    if (kind === 'audio' && !this.o.micOpen(peer.siteId)) await stream.pause();
    this.o.addStream(stream);
    return { id: stream.id };
  }

  async consume(
    peerId: string,
    transportId: string,
    producerId: string,
    rtpCapabilities: unknown,
  ): Promise<ConsumeAnswer> {
    const peer = this.peer(peerId);
    const stream = this.o.findStream(producerId);
    if (!stream) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', `no stream ${producerId}`);
    if (!this.o.router.canConsume(producerId, rtpCapabilities as Parameters<RoomRouter['canConsume']>[1])) {
      throw new DiemcauError('APPL_ERR_MEDIA_CONFLICT', 'this browser cannot decode that stream');
    }
    if (peer.role === 'monitor') this.mayMonitor(peer, stream);
    const transport = this.transport(peerId, transportId);
    // A browser shows each stream once: the same one again is a flood, not a viewer.
    if (peer.consuming.has(producerId)) {
      throw this.o.refusals.refuse(
        'APPL_ERR_MEDIA_CONFLICT',
        'consumer-duplicate',
        `this peer already consumes ${producerId}`,
        { peerId },
      );
    }
    const outlet = await this.within(
      peer,
      'consumers',
      peer.outlets.size,
      peer.role === 'monitor' ? MONITOR_MAX_CONSUMERS : this.o.limits.maxConsumersPerPeer,
      async () => {
        this.o.budget.takeConsumer(peer.token);
        peer.consuming.add(producerId);
        try {
          return await browserParams('rtpCapabilities', () => transport.consume(producerId, rtpCapabilities));
        } catch (err) {
          this.o.budget.giveConsumer(peer.token);
          peer.consuming.delete(producerId);
          throw err;
        }
      },
    );
    peer.outlets.set(outlet.id, outlet);
    // However it closes (peer left, stream ended, transport closed), its share goes back.
    outlet.events.on('close', () => {
      peer.ready.delete(outlet);
      if (!peer.outlets.delete(outlet.id)) return;
      peer.consuming.delete(producerId);
      this.o.budget.giveConsumer(peer.token);
    });
    return {
      id: outlet.id,
      producerId,
      kind: outlet.kind,
      rtpParameters: outlet.rtpParameters,
      siteId: stream.info.siteId,
    };
  }

  /**
   * The browser has wired the consumer's track. Sound flows at once; a picture
   * flows if it is the layer the edge picks for this browser, and is held
   * back otherwise (applyLayers lets it through when that changes).
   */
  async resume(peerId: string, consumerId: string): Promise<void> {
    const peer = this.peer(peerId);
    const outlet = peer.outlets.get(consumerId);
    if (!outlet) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', `no consumer ${consumerId}`);
    if (outlet.kind === 'audio') return outlet.resume();
    peer.ready.add(outlet);
    await this.layersOf(peer);
  }

  /** The browser no longer shows a stream (the chair stepped to the next room): its share goes back. */
  closeConsumer(peerId: string, consumerId: string): void {
    const outlet = this.peer(peerId).outlets.get(consumerId);
    if (!outlet) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', `no consumer ${consumerId}`);
    outlet.close();
  }

  /**
   * The roll call moved on (or ended): a monitor's picture of any other site
   * closes here, whether or not its page says so. Returns how many closed.
   */
  applyRollCall(): number {
    const called = this.o.rollCallSiteId();
    let closed = 0;
    for (const peer of this.peers.values()) {
      if (peer.role !== 'monitor') continue;
      const outlets = [...peer.outlets.values()];
      const stale = monitorStale(
        called,
        outlets.map((o) => ({ id: o.id, siteId: this.o.findStream(o.producerId)?.info.siteId })),
      );
      for (const id of stale) peer.outlets.get(id)?.close();
      closed += stale.length;
    }
    if (closed > 0) this.o.refusals.note('monitor-stepped', 'roll call moved on; monitor pictures closed', { closed });
    return closed;
  }

  /** Per site, the video stream this browser gets now. */
  /**
   * Whether the chair keeps this browser's microphone closed now (mute all, or
   * the floor given to another site): its page tells its user. False for a
   * browser that sends no sound.
   */
  micClosed(peerId: string): boolean {
    const peer = this.peer(peerId);
    const sendsSound = [...peer.producers].some((id) => this.o.findStream(id)?.kind === 'audio');
    return sendsSound && !this.o.micOpen(peer.siteId);
  }

  shown(peerId: string): Map<string, string> {
    return this.o.picks(this.peer(peerId).view);
  }

  /**
   * Lets through, for every browser, the picture of each camera the edge picks
   * for it, and holds back the other layer. Runs one pass at a time: a pause
   * must not overtake the resume of an earlier pass.
   */
  applyLayers(): Promise<void> {
    this.layering = this.layering
      .then(async () => {
        const byView = new Map<View, Map<string, string>>();
        for (const peer of this.peers.values()) {
          let picks = byView.get(peer.view);
          if (!picks) byView.set(peer.view, (picks = this.o.picks(peer.view)));
          await this.setLayers(peer, picks);
        }
      })
      .catch((err: unknown) => this.o.log.warn({ err }, 'layer change failed'));
    return this.layering;
  }

  private layersOf(peer: Peer): Promise<void> {
    this.layering = this.layering
      .then(() => this.setLayers(peer, this.o.picks(peer.view)))
      .catch((err: unknown) => this.o.log.warn({ err, peerId: peer.id }, 'layer change failed'));
    return this.layering;
  }

  private async setLayers(peer: Peer, picks: Map<string, string>): Promise<void> {
    const picked = new Set(picks.values());
    for (const outlet of peer.ready) {
      const want = picked.has(outlet.producerId);
      // A resumed video consumer asks its stream for a keyframe: the new layer shows at once.
      if (want && outlet.paused) await outlet.resume();
      else if (!want && !outlet.paused) await outlet.pause();
    }
  }

  /**
   * Opens or closes every browser's microphone as the chair's controls say
   * (paused here, where it enters the meeting: it crosses no link and the
   * host's observer does not hear it).
   */
  async applyMics(): Promise<void> {
    for (const peer of this.peers.values()) {
      const open = this.o.micOpen(peer.siteId);
      for (const id of peer.producers) {
        const s = this.o.findStream(id);
        if (!s || s.kind !== 'audio' || s.paused !== open) continue;
        await (open ? s.resume() : s.pause());
        this.o.log.info({ participantId: peer.siteId, open }, 'browser microphone follows the chair');
      }
    }
  }

  /** Closing a peer's transports closes its streams, here and across the cascade; its budget share is given back. */
  close(peerId: string): boolean {
    const peer = this.peers.get(peerId);
    if (!peer) return false;
    this.peers.delete(peerId);
    if (peer.idle) clearTimeout(peer.idle);
    if (peer.expiry) clearTimeout(peer.expiry);
    this.o.budget.give(peer.token);
    for (const t of [...peer.transports.values()]) t.close();
    this.o.log.info({ peerId }, 'browser left');
    return true;
  }

  closeAll(): void {
    for (const id of [...this.peers.keys()]) this.close(id);
  }

  /** A monitor receives the called site's picture only, in the layer a grid gets (monitor.ts); a counted 403 otherwise. */
  private mayMonitor(peer: Peer, stream: Stream): void {
    const called = this.o.rollCallSiteId();
    const no = monitorRefusal({
      called,
      stream: { id: stream.id, kind: stream.kind, siteId: stream.info.siteId, layer: layerOf(stream.info) },
      pick: called === null ? undefined : this.o.picks('grid').get(called),
    });
    if (no) throw this.o.refusals.refuse('APPL_ERR_MEDIA_FORBIDDEN', no.reason, no.detail, { peerId: peer.id });
  }

  /** Runs `make` if the peer holds fewer than `max` of `what` (those under way included); a counted 429 otherwise. */
  private async within<T>(peer: Peer, what: Counted, held: number, max: number, make: () => Promise<T>): Promise<T> {
    if (held + peer.pending[what] >= max) {
      throw this.o.refusals.refuse(
        'APPL_ERR_MEDIA_LIMIT',
        `${what}-per-peer`,
        `this peer already holds ${held + peer.pending[what]} ${what} (limit ${max})`,
        { peerId: peer.id },
      );
    }
    peer.pending[what] += 1;
    try {
      return await make();
    } finally {
      peer.pending[what] -= 1;
    }
  }

  private peer(peerId: string): Peer {
    const p = this.peers.get(peerId);
    if (!p) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', `no peer ${peerId}`);
    return p;
  }

  private transport(peerId: string, transportId: string): WebRtcPort {
    const t = this.peer(peerId).transports.get(transportId);
    if (!t) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', `no transport ${transportId}`);
    return t;
  }
}
