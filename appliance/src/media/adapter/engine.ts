// The mediasoup worker and its routers. This folder is the only code that
// imports mediasoup (see handles.ts for why).
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { DiemcauError } from '@diemcau/shared';
import { Events } from '../events.js';
import { ROUTER_CODECS } from './codecs.js';
import { PipeLink, PlainIn, PlainOut, Stream, WebRtcPort, type RtpCapabilities } from './handles.js';

export const MEDIASOUP_VERSION = mediasoup.version;

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

/**
 * One mediasoup worker process. 'died' carries a typed error; the owner (the
 * edge) decides to restart. close() is idempotent and closes every router.
 */
export class MediaWorker {
  readonly events = new Events<{ died: [DiemcauError] }>();
  private closed = false;

  private constructor(private readonly worker: types.Worker) {
    worker.on('died', (err: Error) => {
      this.closed = true;
      this.events.emit('died', new DiemcauError('APPL_ERR_MEDIA', `mediasoup worker ${worker.pid} died`, { cause: err }));
    });
  }

  static async start(opts: WorkerOptions): Promise<MediaWorker> {
    try {
      const worker = await mediasoup.createWorker({ logLevel: opts.logLevel ?? 'warn', rtcMinPort: opts.rtcMinPort, rtcMaxPort: opts.rtcMaxPort });
      return new MediaWorker(worker);
    } catch (err) {
      throw new DiemcauError('APPL_ERR_MEDIA', 'cannot start the mediasoup worker (run "node scripts/setup.mjs")', { cause: err });
    }
  }

  get pid(): number { return this.worker.pid; }
  get isClosed(): boolean { return this.closed || this.worker.closed; }

  async createRouter(): Promise<RoomRouter> {
    if (this.isClosed) throw new DiemcauError('APPL_ERR_MEDIA', 'worker is closed');
    return new RoomRouter(await this.worker.createRouter({ mediaCodecs: ROUTER_CODECS }));
  }

  async usage(): Promise<WorkerUsage> {
    const u = await this.worker.getResourceUsage();
    // ru_utime/ru_stime are in milliseconds in mediasoup 3.8.
    return { cpuSeconds: (u.ru_utime + u.ru_stime) / 1000 };
  }

  close(): void {
    if (this.worker.closed) return;
    this.closed = true;
    this.worker.close();
  }
}

export type SpeakerEvents = { speaker: [Stream] };

/** One meeting's router on this edge. Closing it closes all its transports. */
export class RoomRouter {
  readonly events = new Events<{ close: [] }>();
  constructor(private readonly router: types.Router) {
    router.observer.on('close', () => this.events.emit('close'));
  }

  get id(): string { return this.router.id; }
  get closed(): boolean { return this.router.closed; }
  get rtpCapabilities(): RtpCapabilities { return this.router.rtpCapabilities; }

  async createPipe(listen: ListenOptions): Promise<PipeLink> {
    return new PipeLink(await this.router.createPipeTransport({ listenIp: this.listenIp(listen), enableSrtp: true }));
  }

  /** Two ports (RTP, RTCP) that accept whatever a local sender sends first. */
  async createPlainIn(listenIp: string): Promise<PlainIn> {
    return new PlainIn(await this.router.createPlainTransport({ listenIp, rtcpMux: false, comedia: true }));
  }

  async createPlainOut(listenIp: string): Promise<PlainOut> {
    return new PlainOut(await this.router.createPlainTransport({ listenIp, rtcpMux: false, comedia: false }));
  }

  async createWebRtc(listen: ListenOptions): Promise<WebRtcPort> {
    return new WebRtcPort(await this.router.createWebRtcTransport({ listenIps: [this.listenIp(listen)], enableUdp: true, enableTcp: true, preferUdp: true }));
  }

  /**
   * Dominant speaker among the audio streams added to it. Returns a function
   * that adds a stream and the observer's close.
   */
  async createSpeakerObserver(onSpeaker: (producerId: string) => void): Promise<{ add(s: Stream): void; close(): void }> {
    const observer = await this.router.createActiveSpeakerObserver({ interval: 300 });
    observer.on('dominantspeaker', ({ producer }: { producer: types.Producer }) => onSpeaker(producer.id));
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
  async dump(): Promise<{ transportIds: string[]; producerIds: string[]; consumerIds: string[] }> {
    if (this.router.closed) return { transportIds: [], producerIds: [], consumerIds: [] };
    // 3.8's dump: { transportIds: [...], mapProducerIdConsumerIds: { producerId: [consumerId, ...] }, ... }
    const d = (await this.router.dump()) as { transportIds: string[]; mapProducerIdConsumerIds: Record<string, string[]> };
    return {
      transportIds: d.transportIds,
      producerIds: Object.keys(d.mapProducerIdConsumerIds),
      consumerIds: Object.values(d.mapProducerIdConsumerIds).flat(),
    };
  }

  close(): void { this.router.close(); }

  private listenIp(l: ListenOptions): types.TransportListenIp {
    return l.announcedIp ? { ip: l.listenIp, announcedIp: l.announcedIp } : { ip: l.listenIp };
  }
}
