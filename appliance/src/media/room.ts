// One meeting on this edge: a router holding every stream of the meeting that
// this edge sees, its links (one up, any number down) and the local room.
//
// Forwarding rule: every stream is a candidate for every link except the one
// it came in on. The cascade is a tree, so a stream crosses each link at most
// once, in one direction, however many sites sit behind the link. Which
// candidates cross is selective (forwarding.ts flows()): only what someone
// beyond the link receives, announced when first wanted; who is in the meeting
// travels as a small roster (roster.ts). The host (no upstream) picks the
// meeting's speakers with its ActiveSpeakerObserver, among the microphones it
// hears (speaker-gate.ts), and sends them down with the warm rooms (heard
// lately, not featured: their streams stay announced, held back); every other
// edge follows what its upstream says.
import type { Logger } from 'pino';
import { DiemcauError, type MeetingMediaStats, type MediaMeeting, type StreamStats } from '@diemcau/shared';
import type { ListenOptions, PlainOut, RoomRouter, RouterSource, Stream } from './adapter/index.js';
import type { CaptureConfig } from './ffmpeg/args.js';
import { LocalIngest } from './ingest.js';
import { PipeBridge, type BridgeHost, type BridgeLimits } from './link/bridge.js';
import { DownstreamLink } from './link/downstream.js';
import type { LinkAnswer, LinkOffer } from './link/protocol.js';
import { UpstreamLink } from './link/upstream.js';
import { expectedLinkConsumers, micOpen, participantMicOpen } from './room-planner.js';
import { kioskView, type KioskView } from './layout.js';
import { Backoff } from '../backoff.js';
import { WARM_FOR_MS, featuredSites, flows, nextSpeakers, warmSites } from './forwarding.js';
import { RoomLayers } from './room-layers.js';
import { RosterRelay, rosterOf, type RosterEntry } from './roster.js';
import { TapSet, type TapRequest, type TapAnswer } from './taps.js';
import { PeerSet } from './peers.js';
import { SpeakerGate } from './speaker-gate.js';
import { VOICE_THRESHOLD_DB } from './rtp/audio-level.js';
import type { BlockList } from 'node:net';
import type { Lookup } from './addresses.js';
import { admitLink, admitSite, type SiteAdmission } from './link/admission.js';
import type { PeerBudget, PeerLimits, Refusals } from './limits.js';

export interface RoomDeps {
  /** The meeting's router comes from here (a worker, or the pool's pick for this meeting). */
  worker: RouterSource;
  edgeId: string;
  listen: ListenOptions;
  /** null: this edge has no camera/microphone of its own (e.g. the core). */
  capture: CaptureConfig | null;
  ffmpegBin: string;
  log: Logger;
  /** Edge-wide: the browser peers' budget, the limits, and the counted refusals. */
  limits: PeerLimits;
  budget: PeerBudget;
  refusals: Refusals;
  /** Where taps may send (config tapAllow). */
  tapAllow: BlockList;
  /** CA for the upstream's https signalling. */
  trustedCa?: string;
  /** Resolves host names a plan uses for downstream edges (tests give their own). */
  lookup?: Lookup;
  /** How long a microphone counts as heard after a report heard it (speaker-gate.ts HEARD_HOLD_MS; tests lengthen it). */
  speakerHoldMs?: number;
}

interface Entry {
  stream: Stream;
  via: PipeBridge | null;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Browser requests to speak one room holds at once (the stats' limit). */
const MAX_HANDS = 16;

export class MeetingRoom implements BridgeHost {
  private readonly streams = new Map<string, Entry>();
  private readonly bridges = new Set<PipeBridge>();
  private readonly downstream = new Map<string, DownstreamLink>();
  private upstream: UpstreamLink | null = null;
  private ingest: LocalIngest | null = null;
  private readonly upBackoff = new Backoff();
  private readonly ingestBackoff = new Backoff();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly taps: TapSet;
  /** Browsers joined on this edge (mediasoup-client over WebRTC). */
  readonly peers: PeerSet;
  /** The meeting's recent speakers, most recent first (forwarding.ts). */
  private speakers: readonly string[] = [];
  /** Host only: the observer's choice counts once that microphone is heard (speaker-gate.ts). */
  private readonly gate: SpeakerGate;
  /** Host only: per site, when the level observer last heard its microphone (for the warm rooms). */
  private readonly heardAt = new Map<string, number>();
  /** Rooms whose streams every link keeps announced, held back (forwarding.ts warmSites()). */
  private warm: readonly string[] = [];
  private warmTimer: NodeJS.Timeout | null = null;
  /** Host only: the sites its last level report heard, for the debug log when they change. */
  private heardSites = '';
  private featured: Set<string>;
  /** Which picture of each camera goes where (layers.ts). */
  private readonly layers: RoomLayers;
  /** Browser participants asking to speak (participant id → when), reported in the stats until answered. */
  private readonly hands = new Map<string, string>();
  private readonly roster: RosterRelay;
  private closed = false;

  private constructor(
    public meeting: MediaMeeting,
    readonly router: RoomRouter,
    /** Only the host listens for the speaker; null elsewhere. */
    private readonly speaker: { add(s: Stream): void; close(): void } | null,
    private readonly deps: RoomDeps,
    private readonly log: Logger,
  ) {
    this.gate = new SpeakerGate(deps.speakerHoldMs);
    this.featured = featuredSites(meeting, this.speakers);
    this.layers = new RoomLayers({
      meeting: () => this.meeting,
      speakers: () => this.speakers,
      featured: () => this.featured,
      streams: () => [...this.streams.values()].map((e) => e.stream),
      layout: () => this.layout(),
      bridges: () => this.bridges,
      applyPeers: () => void this.peers.applyLayers(),
      closed: () => this.closed,
    });
    this.roster = this.rosterRelay(meeting.upstream === null, log);
    this.taps = new TapSet(router, (id) => this.streams.get(id)?.stream, deps.tapAllow, deps.refusals, log);
    this.peers = new PeerSet({
      router,
      listen: deps.listen,
      edgeId: deps.edgeId,
      siteOf: () => this.meeting.localSiteId ?? deps.edgeId,
      findStream: (id) => this.streams.get(id)?.stream,
      addStream: (s) => this.addStream(s, null),
      picks: (view) => this.layers.picks(view),
      micOpen: (participantId) => participantMicOpen(this.meeting, participantId),
      rollCallSiteId: () => this.meeting.rollCallSiteId,
      limits: deps.limits,
      budget: deps.budget,
      refusals: deps.refusals,
      log,
    });
  }

  static async open(meeting: MediaMeeting, deps: RoomDeps): Promise<MeetingRoom> {
    const log = deps.log.child({ meetingId: meeting.meetingId, role: meeting.role });
    const router = await deps.worker.createRouter();
    let room: MeetingRoom | null = null;
    const speaker =
      meeting.upstream === null
        ? await router.createSpeakerObserver({
            thresholdDb: VOICE_THRESHOLD_DB,
            dominant: (producerId) => room?.onDominant(producerId),
            heard: (producerIds) => room?.onHeard(producerIds),
          })
        : null;
    room = new MeetingRoom(meeting, router, speaker, deps, log);
    if (meeting.localSiteId && deps.capture) void room.startIngest();
    if (meeting.upstream) void room.connectUpstream();
    log.info({ localSiteId: meeting.localSiteId, upstream: meeting.upstream?.edgeId ?? null }, 'room opened');
    return room;
  }

  get id(): string {
    return this.meeting.meetingId;
  }
  private get bridgeLimits(): BridgeLimits {
    return { maxStreams: this.deps.limits.maxStreamsPerLink, refusals: this.deps.refusals };
  }
  get isClosed(): boolean {
    return this.closed;
  }

  // ---- streams and forwarding ----------------------------------------------

  addStream(stream: Stream, via: PipeBridge | null): void {
    if (this.closed) return stream.close();
    this.streams.set(stream.id, { stream, via });
    stream.events.on('close', () => this.streams.delete(stream.id));
    this.layers.watch(stream);
    if (via === null) this.watchLocal(stream);
    if (this.speaker && stream.kind === 'audio') {
      this.speaker.add(stream);
      stream.events.on('close', () => this.gate.forget(stream.id));
      stream.events.on('pause', () => this.gate.closed(stream.id));
    }
    for (const b of this.bridges) if (b !== via) void b.offer(stream);
  }

  flows(stream: Stream, via: PipeBridge): boolean {
    return flows(
      { kind: stream.kind, siteId: stream.info.siteId, paused: stream.paused },
      via.direction,
      this.featured,
    );
  }

  carriesLayer(stream: Stream, via: PipeBridge): boolean {
    return this.layers.carries(stream, via);
  }

  keepsWarm(stream: Stream): boolean {
    return this.warm.includes(stream.info.siteId);
  }

  private attachBridge(bridge: PipeBridge): void {
    this.bridges.add(bridge);
    bridge.pipe.events.on('close', () => {
      this.bridges.delete(bridge);
      this.layers.forget(bridge);
      if (bridge.direction === 'down') this.roster.fromBelow(bridge.id, null);
    });
    if (bridge.direction === 'down' && this.speakers.length + this.warm.length > 0)
      bridge.sendSpeakers(this.speakers, this.warm);
    this.linkRoster(bridge);
    for (const { stream, via } of this.streams.values()) if (via !== bridge) void bridge.offer(stream);
  }

  // The host's observer changed its choice: taken if that microphone is heard, else when it is.
  private onDominant(producerId: string): void {
    const named = this.gate.dominantSpeaker(producerId, performance.now());
    const siteId = this.streams.get(producerId)?.stream.info.siteId ?? null;
    this.log.debug({ producerId, siteId, heard: named !== null }, 'observer chose a speaker');
    this.onSpeaker(named);
  }

  private onHeard(producerIds: string[]): void {
    const now = performance.now();
    const sites = producerIds.map((id) => this.streams.get(id)?.stream.info.siteId ?? id);
    if (sites.join(',') !== this.heardSites) this.log.debug({ sites: sites.join(',') }, 'heard');
    this.heardSites = sites.join(',');
    for (const site of sites) this.heardAt.set(site, now);
    for (const [site, at] of this.heardAt) if (now - at > WARM_FOR_MS) this.heardAt.delete(site);
    this.onSpeaker(this.gate.heard(producerIds, now));
    // A room heard before the gate names it is warm from this report on.
    this.decide(this.speakers);
  }

  // The gate named a speaker who is heard (null: nobody new). A paused
  // microphone never takes the floor: it is named once it opens and is heard.
  private onSpeaker(producerId: string | null): void {
    if (producerId === null) return;
    const stream = this.streams.get(producerId)?.stream;
    if (!stream || stream.paused) return;
    const next = nextSpeakers(this.speakers, stream.info.siteId);
    if (next !== this.speakers) this.log.debug({ producerId, siteId: stream.info.siteId }, 'speaker heard');
    this.decide(next);
  }

  // Host: the speakers it names, and the warm rooms they leave (those heard lately and not featured).
  // A room stops being warm when nobody speaks too (no level report comes then): a timer decides again.
  private decide(speakers: readonly string[]): void {
    const now = performance.now();
    const warm = warmSites(this.heardAt, featuredSites(this.meeting, speakers), now);
    this.followSpeakers(speakers, warm.sites);
    if (this.warmTimer) clearTimeout(this.warmTimer);
    this.warmTimer = null;
    if (warm.wakeAt !== null && !this.closed) {
      this.warmTimer = setTimeout(() => this.decide(this.speakers), warm.wakeAt - now + 1);
      this.warmTimer.unref();
    }
  }

  admitSite(siteId: string, via: PipeBridge): SiteAdmission {
    return admitSite(this.meeting, this.deps.edgeId, { edgeId: via.peerEdgeId, direction: via.direction }, siteId);
  }

  setSpeakers(siteIds: string[], warm: string[], via: PipeBridge): void {
    if (via.direction === 'up') this.followSpeakers(siteIds, warm);
  }

  private followSpeakers(list: readonly string[], warm: readonly string[]): void {
    if (this.closed || (sameList(list, this.speakers) && sameList(warm, this.warm))) return;
    this.speakers = list;
    this.warm = warm;
    this.log.debug({ speakers: list, warm }, 'speakers changed');
    for (const b of this.bridges) if (b.direction === 'down') b.sendSpeakers(list, warm);
    this.refreshForwarding();
  }

  private refreshForwarding(): void {
    this.featured = featuredSites(this.meeting, this.speakers);
    this.layers.invalidate();
    for (const b of this.bridges) void b.refresh();
  }

  // ---- links -----------------------------------------------------------------

  /**
   * A downstream edge asks to link (token already checked by the server);
   * `source` is the address its request came from. Only an edge the plan
   * names, from and to an address the plan names for it (admission.ts).
   */
  async acceptLink(offer: LinkOffer, source: string | undefined): Promise<LinkAnswer> {
    if (this.closed) throw new DiemcauError('APPL_ERR_MEDIA_CONFLICT', 'meeting is closing');
    const admission = await admitLink(
      this.meeting.downstream,
      { edgeId: offer.edgeId, ip: offer.ip, port: offer.port, source },
      this.deps.lookup,
    );
    if (!admission.ok) {
      throw this.deps.refusals.refuse('APPL_ERR_MEDIA_FORBIDDEN', admission.reason, admission.detail, {
        meetingId: this.id,
        peer: offer.edgeId,
        source,
        target: `${offer.ip}:${offer.port}`,
      });
    }
    if (this.closed) throw new DiemcauError('APPL_ERR_MEDIA_CONFLICT', 'meeting is closing');
    // One link per downstream edge: a new offer (a reconnect) replaces the old
    // one, so repeated offers cannot pile up pipe transports.
    for (const l of [...this.downstream.values()]) if (l.peerEdgeId === offer.edgeId) l.close();
    const pipe = await this.router.createPipe(this.deps.listen, expectedLinkConsumers(this.meeting, offer.edgeId));
    try {
      await pipe.connect({ ip: offer.ip, port: offer.port, srtp: offer.srtp });
    } catch (err) {
      pipe.close();
      throw new DiemcauError('APPL_ERR_MEDIA_CONFLICT', 'cannot connect the pipe to the offered tuple', { cause: err });
    }
    const link = new DownstreamLink(offer.edgeId, admission.allowed, this.log, () => this.downstream.delete(pipe.id));
    link.bridge = new PipeBridge(
      pipe,
      offer.edgeId,
      'down',
      this,
      link.send,
      this.log.child({ peer: offer.edgeId }),
      this.bridgeLimits,
    );
    this.downstream.set(pipe.id, link);
    // A bridge that closes itself (an event flood) takes the link's event stream with it.
    pipe.events.on('close', () => link.close());
    this.attachBridge(link.bridge);
    this.log.info({ peer: offer.edgeId, linkId: pipe.id }, 'downstream link accepted');
    const srtp = pipe.srtp;
    if (!srtp) {
      pipe.close();
      throw new DiemcauError('APPL_ERR_MEDIA', 'pipe transport has no SRTP key');
    }
    return { v: 1, linkId: pipe.id, edgeId: this.deps.edgeId, ...pipe.tuple, srtp };
  }

  downstreamLink(linkId: string): DownstreamLink | undefined {
    return this.downstream.get(linkId);
  }

  private async connectUpstream(): Promise<void> {
    const up = this.meeting.upstream;
    if (this.closed || !up) return;
    try {
      const link = await UpstreamLink.open({
        router: this.router,
        listen: this.deps.listen,
        meetingId: this.id,
        upstream: up,
        edgeId: this.deps.edgeId,
        host: this,
        log: this.log.child({ peer: up.edgeId }),
        expectedConsumers: expectedLinkConsumers(this.meeting, null),
        ...(this.deps.trustedCa ? { ca: this.deps.trustedCa } : {}),
        limits: this.bridgeLimits,
      });
      if (this.closed) return link.close();
      this.upstream = link;
      this.upBackoff.reset();
      link.events.on('down', () => {
        this.upstream = null;
        this.later(this.upBackoff.next(), () => this.connectUpstream());
      });
      this.attachBridge(link.bridge);
      this.log.info({ upstream: up.edgeId, linkId: link.linkId }, 'upstream link up');
    } catch (err) {
      const wait = this.upBackoff.next();
      this.log.warn({ err, upstream: up.edgeId, retryMs: wait }, 'upstream link failed');
      this.later(wait, () => this.connectUpstream());
    }
  }

  // ---- local room ------------------------------------------------------------

  private async startIngest(): Promise<void> {
    const site = this.meeting.localSiteId;
    if (this.closed || !site || !this.deps.capture) return;
    try {
      const ingest = await LocalIngest.start({
        router: this.router,
        capture: this.deps.capture,
        ffmpegBin: this.deps.ffmpegBin,
        siteId: site,
        edgeId: this.deps.edgeId,
        log: this.log,
      });
      if (this.closed) return void ingest.close();
      this.ingest = ingest;
      await ingest.setMicOpen(micOpen(this.meeting));
      for (const s of ingest.streams) this.addStream(s, null);
      ingest.events.on('failed', () => {
        this.ingest = null;
        void ingest.close();
        this.later(this.ingestBackoff.next(), () => this.startIngest());
      });
    } catch (err) {
      const wait = this.ingestBackoff.next();
      this.log.warn({ err, retryMs: wait }, 'local ingest failed to start');
      this.later(wait, () => this.startIngest());
    }
  }

  // ---- requests to speak from browsers ----------------------------------------

  /** A browser participant asks to speak (join page); its edge's stats carry it to the fleet. */
  askToSpeak(peerId: string): { participantId: string; at: string } {
    const participantId = this.peers.participantOf(peerId);
    if (!this.hands.has(participantId)) {
      if (this.hands.size >= MAX_HANDS)
        throw this.deps.refusals.refuse(
          'APPL_ERR_MEDIA_LIMIT',
          'speak-requests',
          'too many requests to speak waiting',
          {
            meetingId: this.id,
          },
        );
      this.hands.set(participantId, new Date().toISOString());
      this.log.info({ participantId }, 'browser asks to speak');
    }
    return { participantId, at: this.hands.get(participantId)! };
  }

  /** The participant's own view: waiting, holding the floor, or neither. */
  speakState(peerId: string): 'waiting' | 'floor' | null {
    const participantId = this.peers.participantOf(peerId);
    if (this.meeting.floorParticipantId === participantId) return 'floor';
    return this.hands.has(participantId) ? 'waiting' : null;
  }

  /** Chair controls changed: follow them in place. */
  async update(meeting: MediaMeeting): Promise<void> {
    this.meeting = meeting;
    // Granted: the participant holds the floor, its hand is down.
    if (meeting.floorParticipantId) this.hands.delete(meeting.floorParticipantId);
    // An edge the plan no longer names loses its link (its addresses are checked again when it offers anew).
    const named = new Set((meeting.downstream ?? []).map((d) => d.edgeId));
    for (const l of [...this.downstream.values()]) if (!named.has(l.peerEdgeId)) l.close();
    // The sites behind each link may have changed too: drop what is no longer admitted.
    for (const b of this.bridges) b.readmit();
    this.refreshForwarding();
    // The chair's roll-call picture of the last room closes as the roll call moves on.
    this.peers.applyRollCall();
    // Browsers that joined with a link the fleet revoked leave now, not at their next request.
    this.peers.revoke(new Set(meeting.revokedLinks ?? []));
    await this.ingest?.setMicOpen(micOpen(meeting));
    await this.peers.applyMics();
  }

  // ---- roster (who is in the meeting, as data) -----------------------------

  private rosterRelay(isHost: boolean, log: Logger): RosterRelay {
    const local = (): RosterEntry[] =>
      rosterOf(
        [...this.streams.values()]
          .filter((e) => e.via === null)
          .map((e) => ({ kind: e.stream.kind, siteId: e.stream.info.siteId, paused: e.stream.paused })),
      );
    return new RosterRelay({
      isHost,
      local,
      sendUp: (entries) => this.upstream?.bridge.sendRoster(entries),
      sendDown: (entries) => {
        for (const b of this.bridges) if (b.direction === 'down') b.sendRoster(entries);
      },
      log,
    });
  }

  // A stream that starts here (the room, a browser) changes the roster as it opens, closes or goes.
  private watchLocal(stream: Stream): void {
    for (const ev of ['pause', 'resume', 'close'] as const) stream.events.on(ev, () => this.roster.changed());
    this.roster.changed();
  }

  private linkRoster(bridge: PipeBridge): void {
    if (bridge.direction === 'down') bridge.sendRoster(this.roster.meeting());
    else this.roster.upstreamLinked();
  }

  setRoster(entries: RosterEntry[], via: PipeBridge): void {
    if (via.direction === 'up') return this.roster.fromAbove(entries);
    // A downstream edge speaks only for the sites the plan puts behind it.
    this.roster.fromBelow(
      via.id,
      entries.filter((e) => this.admitSite(e.siteId, via).ok),
    );
  }

  /** Who is in the meeting, as this edge knows it (sorted by site). */
  rosterEntries(): RosterEntry[] {
    return this.roster.meeting();
  }

  // ---- taps (plain RTP out) --------------------------------------------------

  createTap(req: TapRequest): Promise<TapAnswer> {
    return this.taps.create(req);
  }
  closeTap(tapId: string): boolean {
    return this.taps.close(tapId);
  }
  get tapOutlets(): PlainOut[] {
    return this.taps.transports;
  }

  // ---- stats and lifecycle -------------------------------------------------------

  listStreams(): Array<{
    id: string;
    kind: 'audio' | 'video';
    siteId: string;
    originEdgeId: string;
    paused: boolean;
    via: string | null;
    layer?: 'small';
  }> {
    return [...this.streams.values()].map(({ stream, via }) => ({
      id: stream.id,
      kind: stream.kind,
      siteId: stream.info.siteId,
      originEdgeId: stream.info.originEdgeId,
      paused: stream.paused,
      via: via?.peerEdgeId ?? null,
      ...(stream.info.layer === 'small' ? { layer: 'small' as const } : {}),
    }));
  }

  /** One stream of the room by its local id (what listStreams() names). */
  stream(id: string): Stream | undefined {
    return this.streams.get(id)?.stream;
  }

  /** The meeting's most recent speaker as this edge knows it (the host's decision, passed down). */
  get activeSpeakerSiteId(): string | null {
    return this.speakers[0] ?? null;
  }

  /** What this room's TV shows now. */
  layout(): KioskView {
    // Cameras that reach this room now: held-back ones would show a frozen picture.
    const videoSites = [...this.streams.values()]
      .filter((e) => e.stream.kind === 'video' && !e.stream.paused)
      .map((e) => e.stream.info.siteId);
    return kioskView(this.meeting, this.speakers, videoSites);
  }

  async stats(): Promise<MeetingMediaStats> {
    const local: StreamStats[] = [];
    for (const s of this.ingest?.streams ?? []) {
      const st = await s.stats();
      const total = st.packets + st.packetsLost;
      local.push({
        kind: s.kind,
        siteId: s.info.siteId,
        bitrateBps: st.bitrateBps,
        packets: st.packets,
        packetsLost: st.packetsLost,
        lossRate: total ? st.packetsLost / total : 0,
        jitterMs: st.jitterMs,
      });
    }
    const links = await Promise.all([...this.bridges].map((b) => b.stats()));
    const present = this.peers.participants();
    for (const id of this.hands.keys()) if (!present.has(id)) this.hands.delete(id);
    return {
      meetingId: this.id,
      role: this.meeting.role,
      localSiteId: this.meeting.localSiteId,
      local,
      links,
      activeSpeakerSiteId: this.speakers[0] ?? null,
      ...(this.hands.size > 0
        ? { speakRequests: [...this.hands].map(([participantId, at]) => ({ participantId, at })) }
        : {}),
    };
  }

  private later(ms: number, fn: () => Promise<void>): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn();
    }, ms);
    this.timers.add(t);
  }

  /** Closes links, local room and router (which closes whatever is left). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.warmTimer) clearTimeout(this.warmTimer);
    this.upstream?.close();
    for (const l of [...this.downstream.values()]) l.close();
    await this.ingest?.close();
    this.taps.closeAll();
    this.peers.closeAll();
    this.speaker?.close();
    this.roster.close();
    this.router.close();
    this.log.info('room closed');
  }
}
