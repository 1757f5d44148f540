// The mediasoup worker and its routers. This folder is the only code that
// imports mediasoup (see handles.ts for why).
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { DiemcauError } from '@diemcau/shared';
import { Events } from '@diemcau/shared';
import { ROUTER_CODECS } from './codecs.js';
import type { Stream } from './handles.js';
import {
  PipeLink,
  PlainIn,
  PlainOut,
  WebRtcPort,
  type RtpCapabilities,
  type StreamRoute,
  type WebRtcState,
} from './handles.js';

export const MEDIASOUP_VERSION = mediasoup.version;
/** The worker binary mediasoup runs (read when mediasoup is loaded; scripts/setup.mjs puts it there). */
export const MEDIASOUP_WORKER_BIN = mediasoup.workerBin;

export interface WorkerOptions {
  rtcMinPort: number;
  rtcMaxPort: number;
  logLevel?: 'debug' | 'warn' | 'error' | 'none';
}

export interface ListenOptions {
  /** Address the worker binds RTP sockets to. */
  listenIp: string;
  /** Address peers should send to, when listenIp is 0.0.0.0 or behind NAT. */
  announcedIp?: string;
}

export interface WorkerUsage {
  /** CPU seconds (user + system) the worker process has used so far. */
  cpuSeconds: number;
}

/** What a router needs from its worker: the port range, and the worker's shared WebRTC port. */
interface RouterContext {
  portRange: types.TransportPortRange;
  webRtcServer(listen: ListenOptions): Promise<types.WebRtcServer>;
}

/** One router of a meeting, on one worker (a meeting spanning workers has several). */
export interface RouterPart {
  router: types.Router;
  ctx: RouterContext;
  pid: number;
}

/**
 * Where a meeting may grow: another router for it on a worker it does not use
 * yet (null when there is none), and the size past which it should.
 */
export interface SpanPolicy {
  /** Transports plus consumers on one router beyond which new transports go to another router. */
  spanAt: number;
  extend(usedPids: number[]): Promise<RouterPart | null>;
}

/**
 * One mediasoup worker process. 'died' carries a typed error; the owner (the
 * edge) decides to restart. close() is idempotent and closes every router.
 */
export class MediaWorker {
  readonly events = new Events<{ died: [DiemcauError] }>();
  private closed = false;
  /** One WebRtcServer per listen address, made on the first browser's transport. */
  private readonly webRtcServers = new Map<string, Promise<types.WebRtcServer>>();

  private constructor(
    private readonly worker: types.Worker,
    private readonly portRange: types.TransportPortRange,
  ) {
    worker.on('died', (err: Error) => {
      this.closed = true;
      this.events.emit(
        'died',
        new DiemcauError('APPL_ERR_MEDIA', `mediasoup worker ${worker.pid} died`, { cause: err }),
      );
    });
  }

  static async start(opts: WorkerOptions): Promise<MediaWorker> {
    try {
      // The port range goes into every listen info (the worker-wide setting is deprecated).
      const worker = await mediasoup.createWorker({ logLevel: opts.logLevel ?? 'warn' });
      return new MediaWorker(worker, { min: opts.rtcMinPort, max: opts.rtcMaxPort });
    } catch (err) {
      throw new DiemcauError('APPL_ERR_MEDIA', 'cannot start the mediasoup worker (run "node scripts/setup.mjs")', {
        cause: err,
      });
    }
  }

  get pid(): number {
    return this.worker.pid;
  }
  get isClosed(): boolean {
    return this.closed || this.worker.closed;
  }
  /** The process ended on its own (mediasoup closes its routers just before saying so). */
  get died(): boolean {
    return this.worker.died;
  }

  async createRouter(): Promise<RoomRouter> {
    return new RoomRouter(await this.openRouter(), null);
  }

  /** A bare router on this worker, for a meeting's RoomRouter (the pool uses it to span workers). */
  async openRouter(): Promise<RouterPart> {
    if (this.isClosed) throw new DiemcauError('APPL_ERR_MEDIA', 'worker is closed');
    const router = await this.worker.createRouter({ mediaCodecs: ROUTER_CODECS });
    return {
      router,
      ctx: { portRange: this.portRange, webRtcServer: (l) => this.webRtcServer(l) },
      pid: this.worker.pid,
    };
  }

  /** The port range of this worker's transports. */
  get ports(): types.TransportPortRange {
    return { ...this.portRange };
  }

  async usage(): Promise<WorkerUsage> {
    const u = await this.worker.getResourceUsage();
    // ru_utime/ru_stime are in milliseconds.
    return { cpuSeconds: (u.ru_utime + u.ru_stime) / 1000 };
  }

  close(): void {
    if (this.worker.closed) return;
    this.closed = true;
    this.worker.close();
  }

  /**
   * Every browser on this worker shares one UDP and one TCP port (a
   * WebRtcServer) instead of two new ports per transport: one port to open in
   * a site's firewall, and a laptop's ICE checks go to a port already known.
   * It closes with the worker.
   */
  private webRtcServer(listen: ListenOptions): Promise<types.WebRtcServer> {
    const key = `${listen.listenIp}|${listen.announcedIp ?? ''}`;
    let server = this.webRtcServers.get(key);
    if (!server) {
      server = this.worker.createWebRtcServer({
        listenInfos: [listenInfo(listen, 'udp', this.portRange), listenInfo(listen, 'tcp', this.portRange)],
      });
      // A failed attempt (the range is full) is tried again by the next browser.
      server.catch(() => this.webRtcServers.delete(key));
      this.webRtcServers.set(key, server);
    }
    return server;
  }
}

function listenInfo(
  l: ListenOptions,
  protocol: 'udp' | 'tcp',
  portRange: types.TransportPortRange,
): types.TransportListenInfo {
  return { protocol, ip: l.listenIp, ...(l.announcedIp ? { announcedAddress: l.announcedIp } : {}), portRange };
}

/** How often the level observer reports who was heard: at 50 packets a second, 15 packets a report (it needs 10). */
const LEVEL_INTERVAL_MS = 300;
/** Microphones one level report names at most, the loudest first (a roll call opens them all). */
const LEVEL_MAX_ENTRIES = 64;

export interface SpeakerHooks {
  /** Average level (dBov) over a report above which a stream counts as heard. */
  thresholdDb: number;
  dominant(producerId: string): void;
  heard(producerIds: string[]): void;
}

export interface RouterDump {
  transportIds: string[];
  producerIds: string[];
  consumerIds: string[];
  /** The browsers' transports, with the state of their ICE and DTLS. */
  webRtc: WebRtcState[];
}

/** A transport's share of its router's load: itself, and its consumers or the consumers it is expected to hold. */
interface TransportLoad {
  consumers: number;
  expected: number;
}
const weight = (t: TransportLoad): number => 1 + Math.max(t.consumers, t.expected);

/** A router of the meeting and what it holds, for placing transports and piping streams. */
interface Part extends RouterPart {
  /**
   * Transports plus consumers on this router (the spanning measure), a link's
   * expected consumers counted from the start: a cascade link is made when the
   * meeting starts and its consumers come later, one per stream it carries.
   */
  load: number;
  loads: Map<string, TransportLoad>;
  /** Transports on this router. */
  transports: Set<string>;
  /** Producers present on this router, original or piped in. */
  producers: Set<string>;
  /** Every producer and consumer on this router, for traffic(). */
  live: { producers: Set<types.Producer>; consumers: Set<types.Consumer> };
  /** Streams being piped in now, so two consumers of one stream pipe it once. */
  piping: Map<string, Promise<void>>;
}

/**
 * One meeting's router on this edge. Closing it closes all its transports.
 *
 * A meeting normally lives on one router. Given a SpanPolicy (the worker
 * pool), once its router carries spanAt transports plus consumers, new
 * transports go to a router of the same meeting on another worker, and a
 * stream is piped over (mediasoup's pipeToRouter, over loopback) the first
 * time a transport there consumes it. The edge sees one router either way.
 */
export class RoomRouter {
  readonly events = new Events<{ close: [] }>();
  private readonly webRtcPorts = new Set<WebRtcPort>();
  private readonly parts: Part[] = [];
  /** The router each stream entered the meeting on (the first one it appeared on). */
  private readonly origin = new Map<string, Part>();
  private extending: Promise<Part | null> | null = null;

  constructor(
    primary: RouterPart,
    private readonly span: SpanPolicy | null,
  ) {
    this.addPart(primary);
    primary.router.observer.on('close', () => {
      // The meeting goes with its first router: the others only served it.
      for (const p of this.parts) if (!p.router.closed) p.router.close();
      this.events.emit('close');
    });
  }

  private get primary(): Part {
    return this.parts[0]!;
  }
  get id(): string {
    return this.primary.router.id;
  }
  get closed(): boolean {
    return this.primary.router.closed;
  }
  get rtpCapabilities(): RtpCapabilities {
    return this.primary.router.rtpCapabilities;
  }
  /** The worker processes this meeting uses, its first router's first. */
  get workerPids(): number[] {
    return this.parts.filter((p) => !p.router.closed).map((p) => p.pid);
  }

  /** The worker process a transport of this meeting runs on. */
  workerOf(transportId: string): number | undefined {
    return this.parts.find((p) => !p.router.closed && p.transports.has(transportId))?.pid;
  }

  private addPart(r: RouterPart): Part {
    const part: Part = {
      ...r,
      load: 0,
      loads: new Map(),
      transports: new Set(),
      producers: new Set(),
      live: { producers: new Set(), consumers: new Set() },
      piping: new Map(),
    };
    this.parts.push(part);
    r.router.observer.on('newtransport', (tr: types.Transport) => {
      const tl: TransportLoad = { consumers: 0, expected: 0 };
      const change = (fn: () => void): void => {
        const before = weight(tl);
        fn();
        part.load += weight(tl) - before;
      };
      part.load += weight(tl);
      part.loads.set(tr.id, tl);
      part.transports.add(tr.id);
      tr.observer.on('close', () => {
        part.load -= weight(tl);
        part.loads.delete(tr.id);
        part.transports.delete(tr.id);
      });
      tr.observer.on('newconsumer', (c: types.Consumer) => {
        change(() => tl.consumers++);
        part.live.consumers.add(c);
        c.observer.on('close', () => {
          change(() => tl.consumers--);
          part.live.consumers.delete(c);
        });
      });
      tr.observer.on('newproducer', (p: types.Producer) => {
        part.producers.add(p.id);
        part.live.producers.add(p);
        if (!this.origin.has(p.id)) this.origin.set(p.id, part);
        p.observer.on('close', () => {
          part.producers.delete(p.id);
          part.live.producers.delete(p);
          if (this.origin.get(p.id) === part) this.origin.delete(p.id);
        });
      });
    });
    // A secondary router closing (its worker died) takes its streams' origin with it.
    r.router.observer.on('close', () => {
      for (const [id, p] of this.origin) if (p === part) this.origin.delete(id);
    });
    return part;
  }

  /** The router a new transport goes to: the first while it has room, then the emptiest, then a new one. */
  private async place(): Promise<Part> {
    const open = this.parts.filter((p) => !p.router.closed);
    const first = open[0];
    if (!first) throw new DiemcauError('APPL_ERR_MEDIA', "the meeting's router is closed");
    if (!this.span || first.load < this.span.spanAt) return first;
    const spanAt = this.span.spanAt;
    const roomy = open.filter((p) => p.load < spanAt).sort((a, b) => a.load - b.load)[0];
    if (roomy) return roomy;
    if (!this.extending) {
      const span = this.span;
      this.extending = span
        .extend(open.map((p) => p.pid))
        .then((r) => {
          if (r && !this.closed) return this.addPart(r);
          r?.router.close();
          return null;
        })
        .finally(() => {
          this.extending = null;
        });
    }
    const added = await this.extending;
    return added ?? open.sort((a, b) => a.load - b.load)[0]!;
  }

  private routeFor<T extends { route: StreamRoute | null }>(part: Part, handle: T): T {
    if (this.span) handle.route = { ensure: (producerId) => this.ensure(producerId, part) };
    return handle;
  }

  /** Pipes a stream to a router of this meeting that does not have it yet. */
  private async ensure(producerId: string, part: Part): Promise<void> {
    if (part.producers.has(producerId)) return;
    let pending = part.piping.get(producerId);
    if (!pending) {
      const from = this.origin.get(producerId);
      // Unknown here: let the consume itself fail with mediasoup's own error.
      if (!from || from === part) return;
      pending = from.router
        .pipeToRouter({
          producerId,
          router: part.router,
          enableSrtp: false,
          // Loopback between two workers of this box, in the sending worker's ports.
          listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: from.ctx.portRange },
        })
        .then(() => undefined)
        .finally(() => part.piping.delete(producerId));
      part.piping.set(producerId, pending);
    }
    await pending;
  }

  /** A cascade link's transport; `expectedConsumers`: the streams it will carry out (plan.ts expectedLinkConsumers). */
  async createPipe(listen: ListenOptions, expectedConsumers = 0): Promise<PipeLink> {
    const part = await this.place();
    const tr = await part.router.createPipeTransport({
      listenInfo: listenInfo(listen, 'udp', part.ctx.portRange),
      enableSrtp: true,
    });
    const tl = part.loads.get(tr.id);
    if (tl && expectedConsumers > tl.expected) {
      part.load += Math.max(tl.consumers, expectedConsumers) - Math.max(tl.consumers, tl.expected);
      tl.expected = expectedConsumers;
    }
    return this.routeFor(part, new PipeLink(tr));
  }

  /** Two ports (RTP, RTCP) that accept whatever a local sender sends first. */
  async createPlainIn(listenIp: string): Promise<PlainIn> {
    const part = await this.place();
    return this.routeFor(
      part,
      new PlainIn(
        await part.router.createPlainTransport({
          listenInfo: listenInfo({ listenIp }, 'udp', part.ctx.portRange),
          rtcpMux: false,
          comedia: true,
        }),
      ),
    );
  }

  async createPlainOut(listenIp: string): Promise<PlainOut> {
    const part = await this.place();
    return this.routeFor(
      part,
      new PlainOut(
        await part.router.createPlainTransport({
          listenInfo: listenInfo({ listenIp }, 'udp', part.ctx.portRange),
          rtcpMux: false,
          comedia: false,
        }),
      ),
    );
  }

  async createWebRtc(listen: ListenOptions): Promise<WebRtcPort> {
    const part = await this.place();
    const webRtcServer = await part.ctx.webRtcServer(listen);
    const port = this.routeFor(
      part,
      new WebRtcPort(
        await part.router.createWebRtcTransport({ webRtcServer, enableUdp: true, enableTcp: true, preferUdp: true }),
      ),
    );
    this.webRtcPorts.add(port);
    port.events.on('close', () => this.webRtcPorts.delete(port));
    return port;
  }

  /**
   * Who speaks among the audio streams added to it: mediasoup's dominant
   * speaker (`dominant`, when its choice changes) and, every
   * LEVEL_INTERVAL_MS, the streams whose average level was above
   * `thresholdDb` dBov, the loudest first (`heard`; once with none when all
   * fall below). The room
   * combines the two (speaker-gate.ts). Returns a function that adds a stream,
   * and close.
   */
  async createSpeakerObserver(hooks: SpeakerHooks): Promise<{ add(s: Stream): void; close(): void }> {
    const primary = this.primary;
    const observer = await primary.router.createActiveSpeakerObserver({ interval: 300 });
    const levels = await primary.router.createAudioLevelObserver({
      threshold: hooks.thresholdDb,
      interval: LEVEL_INTERVAL_MS,
      maxEntries: LEVEL_MAX_ENTRIES,
    });
    observer.on('dominantspeaker', ({ producer }) => hooks.dominant(producer.id));
    levels.on('volumes', (volumes) => hooks.heard(volumes.map((v) => v.producer.id)));
    levels.on('silence', () => hooks.heard([]));
    return {
      add: (s: Stream) => {
        if (s.kind !== 'audio' || observer.closed) return;
        // A stream that closed meanwhile is simply not observed. One that
        // entered on another router of the meeting is piped to the first.
        this.ensure(s.id, primary)
          .then(() =>
            Promise.all([observer.addProducer({ producerId: s.id }), levels.addProducer({ producerId: s.id })]),
          )
          .catch(() => {});
      },
      close: () => {
        observer.close();
        levels.close();
      },
    };
  }

  canConsume(producerId: string, rtpCapabilities: RtpCapabilities): boolean {
    const router = (this.origin.get(producerId) ?? this.primary).router;
    return router.canConsume({ producerId, rtpCapabilities });
  }

  /** The worker's own view: used to prove nothing leaked. */
  async dump(): Promise<RouterDump> {
    const open = this.parts.filter((p) => !p.router.closed);
    if (open.length === 0 || this.closed) return { transportIds: [], producerIds: [], consumerIds: [], webRtc: [] };
    const dumps = await Promise.all(open.map((p) => p.router.dump()));
    return {
      transportIds: dumps.flatMap((d) => d.transportIds),
      // A piped stream is on two routers under one id.
      producerIds: [...new Set(dumps.flatMap((d) => d.mapProducerIdConsumerIds.map((e) => e.key)))],
      consumerIds: dumps.flatMap((d) => d.mapProducerIdConsumerIds.flatMap((e) => e.values)),
      webRtc: [...this.webRtcPorts].filter((p) => !p.closed).map((p) => p.state),
    };
  }

  /**
   * RTP packets this meeting's routers took in (every producer's count) and
   * sent out (every consumer that is not paused), so far. One worker request
   * per stream: for benchmarks and diagnostics, not for a stats loop.
   */
  async traffic(): Promise<{ packetsIn: number; packetsOut: number; producers: number; consumers: number }> {
    const open = this.parts.filter((p) => !p.router.closed);
    const producers = open.flatMap((p) => [...p.live.producers]).filter((p) => !p.closed);
    const consumers = open.flatMap((p) => [...p.live.consumers]).filter((c) => !c.closed);
    const count = (list: Array<{ type: string; packetCount?: number }>, type: string): number =>
      list.filter((x) => x.type === type).reduce((n, x) => n + (x.packetCount ?? 0), 0);
    const ins = await Promise.all(
      producers.map((p) =>
        p.getStats().then(
          (l) => count(l, 'inbound-rtp'),
          () => 0,
        ),
      ),
    );
    const flowing = consumers.filter((c) => !c.paused && !c.producerPaused);
    const outs = await Promise.all(
      flowing.map((c) =>
        c.getStats().then(
          (l) => count(l, 'outbound-rtp'),
          () => 0,
        ),
      ),
    );
    return {
      packetsIn: ins.reduce((a, b) => a + b, 0),
      packetsOut: outs.reduce((a, b) => a + b, 0),
      producers: producers.length,
      consumers: consumers.length,
    };
  }

  close(): void {
    this.primary.router.close();
  }
}
