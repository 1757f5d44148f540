// The mediasoup worker and its routers. This folder is the only code that
// imports mediasoup (see handles.ts for why).
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { DiemcauError } from '@diemcau/shared';
import { Events } from '../events.js';
import { ROUTER_CODECS } from './codecs.js';
import { PipeLink, PlainIn, PlainOut, Stream, WebRtcPort, type RtpCapabilities, type WebRtcState } from './handles.js';

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

/**
 * One mediasoup worker process. 'died' carries a typed error; the owner (the
 * edge) decides to restart. close() is idempotent and closes every router.
 */
export class MediaWorker {
  readonly events = new Events<{ died: [DiemcauError] }>();
  private closed = false;
  /** One WebRtcServer per listen address, made on the first browser's transport. */
  private readonly webRtcServers = new Map<string, Promise<types.WebRtcServer>>();

  private constructor(private readonly worker: types.Worker, private readonly portRange: types.TransportPortRange) {
    worker.on('died', (err: Error) => {
      this.closed = true;
      this.events.emit('died', new DiemcauError('APPL_ERR_MEDIA', `mediasoup worker ${worker.pid} died`, { cause: err }));
    });
  }

  static async start(opts: WorkerOptions): Promise<MediaWorker> {
    try {
      // The port range goes into every listen info (the worker-wide setting is deprecated).
      const worker = await mediasoup.createWorker({ logLevel: opts.logLevel ?? 'warn' });
      return new MediaWorker(worker, { min: opts.rtcMinPort, max: opts.rtcMaxPort });
    } catch (err) {
      throw new DiemcauError('APPL_ERR_MEDIA', 'cannot start the mediasoup worker (run "node scripts/setup.mjs")', { cause: err });
    }
  }

  get pid(): number { return this.worker.pid; }
  get isClosed(): boolean { return this.closed || this.worker.closed; }

  async createRouter(): Promise<RoomRouter> {
    if (this.isClosed) throw new DiemcauError('APPL_ERR_MEDIA', 'worker is closed');
    const router = await this.worker.createRouter({ mediaCodecs: ROUTER_CODECS });
    return new RoomRouter(router, { portRange: this.portRange, webRtcServer: (l) => this.webRtcServer(l) });
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

function listenInfo(l: ListenOptions, protocol: 'udp' | 'tcp', portRange: types.TransportPortRange): types.TransportListenInfo {
  return { protocol, ip: l.listenIp, ...(l.announcedIp ? { announcedAddress: l.announcedIp } : {}), portRange };
}

export type SpeakerEvents = { speaker: [Stream] };

export interface RouterDump {
  transportIds: string[];
  producerIds: string[];
  consumerIds: string[];
  /** The browsers' transports, with the state of their ICE and DTLS. */
  webRtc: WebRtcState[];
}

/** One meeting's router on this edge. Closing it closes all its transports. */
export class RoomRouter {
  readonly events = new Events<{ close: [] }>();
  private readonly webRtcPorts = new Set<WebRtcPort>();

  constructor(private readonly router: types.Router, private readonly ctx: RouterContext) {
    router.observer.on('close', () => this.events.emit('close'));
  }

  get id(): string { return this.router.id; }
  get closed(): boolean { return this.router.closed; }
  get rtpCapabilities(): RtpCapabilities { return this.router.rtpCapabilities; }

  async createPipe(listen: ListenOptions): Promise<PipeLink> {
    return new PipeLink(await this.router.createPipeTransport({ listenInfo: listenInfo(listen, 'udp', this.ctx.portRange), enableSrtp: true }));
  }

  /** Two ports (RTP, RTCP) that accept whatever a local sender sends first. */
  async createPlainIn(listenIp: string): Promise<PlainIn> {
    return new PlainIn(await this.router.createPlainTransport({ listenInfo: listenInfo({ listenIp }, 'udp', this.ctx.portRange), rtcpMux: false, comedia: true }));
  }

  async createPlainOut(listenIp: string): Promise<PlainOut> {
    return new PlainOut(await this.router.createPlainTransport({ listenInfo: listenInfo({ listenIp }, 'udp', this.ctx.portRange), rtcpMux: false, comedia: false }));
  }

  async createWebRtc(listen: ListenOptions): Promise<WebRtcPort> {
    const webRtcServer = await this.ctx.webRtcServer(listen);
    const port = new WebRtcPort(await this.router.createWebRtcTransport({ webRtcServer, enableUdp: true, enableTcp: true, preferUdp: true }));
    this.webRtcPorts.add(port);
    port.events.on('close', () => this.webRtcPorts.delete(port));
    return port;
  }

  /**
   * Dominant speaker among the audio streams added to it. Returns a function
   * that adds a stream and the observer's close.
   */
  async createSpeakerObserver(onSpeaker: (producerId: string) => void): Promise<{ add(s: Stream): void; close(): void }> {
    const observer = await this.router.createActiveSpeakerObserver({ interval: 300 });
    observer.on('dominantspeaker', ({ producer }) => onSpeaker(producer.id));
    return {
      add: (s: Stream) => {
        if (s.kind !== 'audio' || observer.closed) return;
        // A stream that closed meanwhile is simply not observed.
        observer.addProducer({ producerId: s.id }).catch(() => {});
      },
      close: () => observer.close(),
    };
  }

  canConsume(producerId: string, rtpCapabilities: RtpCapabilities): boolean {
    return this.router.canConsume({ producerId, rtpCapabilities });
  }

  /** The worker's own view: used to prove nothing leaked. */
  async dump(): Promise<RouterDump> {
    if (this.router.closed) return { transportIds: [], producerIds: [], consumerIds: [], webRtc: [] };
    const d = await this.router.dump();
    return {
      transportIds: d.transportIds,
      producerIds: d.mapProducerIdConsumerIds.map((e) => e.key),
      consumerIds: d.mapProducerIdConsumerIds.flatMap((e) => e.values),
      webRtc: [...this.webRtcPorts].filter((p) => !p.closed).map((p) => p.state),
    };
  }

  close(): void { this.router.close(); }
}
