// Handles over mediasoup's producers, consumers and transports. The rest of the
// edge sees only these classes and plain data, so moving to a newer mediasoup
// (listen infos instead of listen IPs, typed stats, ...) changes this folder only.
import type { types } from 'mediasoup';
import { Events } from '@diemcau/shared';

export type MediaKind = 'audio' | 'video';
/** Opaque RTP parameters: produced by one side, handed to the other unchanged. */
export type RtpParameters = types.RtpParameters;
export type RtpCapabilities = types.RtpCapabilities;

/** What the edge knows about a stream wherever it is in the cascade (a producer's appData). */
export type StreamInfo = {
  siteId: string;
  originEdgeId: string;
  /** Which picture of a room's camera (layers.ts); absent: the full one (and every microphone). */
  layer?: 'full' | 'small';
};

/** A link's SRTP key. Pipe transports use AEAD_AES_256_GCM (mediasoup 3.10 and later). */
export type LinkSrtp = types.SrtpParameters;

export interface Tuple {
  ip: string;
  port: number;
}

export interface RtpStreamStats {
  bitrateBps: number;
  packets: number;
  packetsLost: number;
  jitterMs: number;
}

function sumStats(
  list: Array<{ bitrate: number; packetCount: number; packetsLost: number; jitter?: number }>,
  clockRate: number,
): RtpStreamStats {
  let bitrateBps = 0;
  let packets = 0;
  let packetsLost = 0;
  let jitter = 0;
  for (const s of list) {
    bitrateBps += s.bitrate;
    packets += s.packetCount;
    packetsLost += s.packetsLost;
    jitter = Math.max(jitter, s.jitter ?? 0);
  }
  // The worker reports jitter in RTP timestamp units.
  return { bitrateBps, packets, packetsLost, jitterMs: clockRate > 0 ? (jitter * 1000) / clockRate : 0 };
}

const clockRateOf = (p: RtpParameters): number => p.codecs[0]?.clockRate ?? 90000;

/** A stream entering a router: the local camera, or a stream piped in from a peer edge. */
export class Stream {
  readonly events = new Events<{ close: []; pause: []; resume: [] }>();
  constructor(private readonly producer: types.Producer<StreamInfo>) {
    producer.observer.on('close', () => this.events.emit('close'));
    producer.observer.on('pause', () => this.events.emit('pause'));
    producer.observer.on('resume', () => this.events.emit('resume'));
  }
  get id(): string {
    return this.producer.id;
  }
  get kind(): MediaKind {
    return this.producer.kind;
  }
  get paused(): boolean {
    return this.producer.paused;
  }
  get closed(): boolean {
    return this.producer.closed;
  }
  get info(): StreamInfo {
    return this.producer.appData;
  }
  get rtpParameters(): RtpParameters {
    return this.producer.rtpParameters;
  }
  /** mediasoup's own handle, for observers within this folder. */
  get raw(): types.Producer<StreamInfo> {
    return this.producer;
  }
  pause(): Promise<void> {
    return this.producer.closed ? Promise.resolve() : this.producer.pause();
  }
  resume(): Promise<void> {
    return this.producer.closed ? Promise.resolve() : this.producer.resume();
  }
  close(): void {
    this.producer.close();
  }
  async stats(): Promise<RtpStreamStats> {
    if (this.producer.closed) return { bitrateBps: 0, packets: 0, packetsLost: 0, jitterMs: 0 };
    const list = (await this.producer.getStats()).filter((s) => s.type === 'inbound-rtp');
    return sumStats(list, clockRateOf(this.producer.rtpParameters));
  }
}

/** A stream leaving a router: to a peer edge over a pipe, or out as plain RTP. */
export class Outlet {
  readonly events = new Events<{ close: []; producerpause: []; producerresume: []; producerclose: [] }>();
  constructor(private readonly consumer: types.Consumer) {
    consumer.observer.on('close', () => this.events.emit('close'));
    consumer.on('producerclose', () => this.events.emit('producerclose'));
    consumer.on('producerpause', () => this.events.emit('producerpause'));
    consumer.on('producerresume', () => this.events.emit('producerresume'));
  }
  get id(): string {
    return this.consumer.id;
  }
  get producerId(): string {
    return this.consumer.producerId;
  }
  get kind(): MediaKind {
    return this.consumer.kind;
  }
  get producerPaused(): boolean {
    return this.consumer.producerPaused;
  }
  /** Held back by this edge (sends nothing whatever the stream does). */
  get paused(): boolean {
    return this.consumer.paused;
  }
  get closed(): boolean {
    return this.consumer.closed;
  }
  get rtpParameters(): RtpParameters {
    return this.consumer.rtpParameters;
  }
  pause(): Promise<void> {
    return this.consumer.closed ? Promise.resolve() : this.consumer.pause();
  }
  resume(): Promise<void> {
    return this.consumer.closed ? Promise.resolve() : this.consumer.resume();
  }
  requestKeyFrame(): Promise<void> {
    return this.consumer.closed ? Promise.resolve() : this.consumer.requestKeyFrame();
  }
  close(): void {
    this.consumer.close();
  }
  async stats(): Promise<RtpStreamStats> {
    if (this.consumer.closed) return { bitrateBps: 0, packets: 0, packetsLost: 0, jitterMs: 0 };
    // A consumer reports its own outbound stream, and the producer's inbound one.
    const list = (await this.consumer.getStats()).filter((s) => s.type === 'outbound-rtp');
    return sumStats(list, clockRateOf(this.consumer.rtpParameters));
  }
}

export interface TransportStats {
  sendBitrateBps: number;
  recvBitrateBps: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface ProduceOptions {
  id?: string;
  kind: MediaKind;
  rtpParameters: RtpParameters;
  paused?: boolean;
  info: StreamInfo;
}

/**
 * How a transport reaches a stream that entered its meeting on another router
 * (a meeting spanning several workers): it pipes the stream over first.
 */
export interface StreamRoute {
  ensure(producerId: string): Promise<void>;
}

/** Shared part of every transport handle. */
abstract class TransportHandle<T extends types.Transport> {
  readonly events = new Events<{ close: [] }>();
  /** Set by the router that made this transport; null when its meeting has one router. */
  route: StreamRoute | null = null;
  constructor(protected readonly transport: T) {
    transport.observer.on('close', () => this.events.emit('close'));
  }
  get id(): string {
    return this.transport.id;
  }
  get closed(): boolean {
    return this.transport.closed;
  }
  close(): void {
    this.transport.close();
  }
  async produce(opts: ProduceOptions): Promise<Stream> {
    const producer = await this.transport.produce<StreamInfo>({
      ...(opts.id ? { id: opts.id } : {}),
      kind: opts.kind,
      rtpParameters: opts.rtpParameters,
      paused: opts.paused ?? false,
      appData: { ...opts.info },
    });
    return new Stream(producer);
  }
  async stats(): Promise<TransportStats> {
    if (this.transport.closed) return { sendBitrateBps: 0, recvBitrateBps: 0, bytesSent: 0, bytesReceived: 0 };
    // Every transport's stats extend the base ones; the generic Transport type says unknown[].
    const s = ((await this.transport.getStats()) as types.BaseTransportStats[])[0];
    if (!s) return { sendBitrateBps: 0, recvBitrateBps: 0, bytesSent: 0, bytesReceived: 0 };
    return {
      sendBitrateBps: s.sendBitrate,
      recvBitrateBps: s.recvBitrate,
      bytesSent: s.bytesSent,
      bytesReceived: s.bytesReceived,
    };
  }
}

/** One side of a cascade link between two edges (usually on different hosts). */
export class PipeLink extends TransportHandle<types.PipeTransport> {
  get tuple(): Tuple {
    return { ip: this.transport.tuple.localAddress, port: this.transport.tuple.localPort };
  }
  /** Our SRTP key for this link (links cross the province's network encrypted). */
  get srtp(): LinkSrtp | undefined {
    return this.transport.srtpParameters;
  }
  connect(remote: Tuple & { srtp?: LinkSrtp }): Promise<void> {
    return this.transport.connect({
      ip: remote.ip,
      port: remote.port,
      ...(remote.srtp ? { srtpParameters: remote.srtp } : {}),
    });
  }
  async consume(producerId: string): Promise<Outlet> {
    await this.route?.ensure(producerId);
    return new Outlet(await this.transport.consume({ producerId }));
  }
}

/** RTP in from a local sender (ffmpeg); the first packet fixes the remote address (comedia). */
export class PlainIn extends TransportHandle<types.PlainTransport> {
  get tuple(): Tuple {
    return { ip: this.transport.tuple.localAddress, port: this.transport.tuple.localPort };
  }
  get rtcpPort(): number | undefined {
    return this.transport.rtcpTuple?.localPort;
  }
}

/** RTP out to a fixed address (a recorder, a decoder for the TV, a test). */
export class PlainOut extends TransportHandle<types.PlainTransport> {
  connect(remote: Tuple & { rtcpPort?: number }): Promise<void> {
    return this.transport.connect({
      ip: remote.ip,
      port: remote.port,
      ...(remote.rtcpPort ? { rtcpPort: remote.rtcpPort } : {}),
    });
  }
  async consume(producerId: string, rtpCapabilities: RtpCapabilities): Promise<Outlet> {
    await this.route?.ensure(producerId);
    return new Outlet(await this.transport.consume({ producerId, rtpCapabilities, paused: false }));
  }
}

/** What a browser (mediasoup-client) needs to build its side of a WebRTC transport. */
export interface WebRtcParams {
  id: string;
  iceParameters: unknown;
  iceCandidates: unknown;
  dtlsParameters: unknown;
}

/** Where a browser's transport stands: ICE (the path) and DTLS (the keys for SRTP). */
export interface WebRtcState {
  id: string;
  iceState: types.IceState;
  dtlsState: types.DtlsState;
}

/**
 * A browser's transport (mediasoup-client over WebRTC): laptops and tablets in
 * the room. Every browser on a worker shares the worker's WebRtcServer port.
 */
export class WebRtcPort extends TransportHandle<types.WebRtcTransport> {
  /** 'gone': the browser closed DTLS, or ICE stayed disconnected (a vanished tab or laptop). */
  readonly presence = new Events<{ gone: [string] }>();
  private iceTimer: NodeJS.Timeout | null = null;

  constructor(transport: types.WebRtcTransport, iceGraceMs = 30_000) {
    super(transport);
    transport.on('dtlsstatechange', (state) => {
      if (state === 'closed' || state === 'failed') this.presence.emit('gone', `dtls ${state}`);
    });
    transport.on('icestatechange', (state) => {
      if (this.iceTimer) clearTimeout(this.iceTimer);
      this.iceTimer = null;
      if (state === 'disconnected') {
        this.iceTimer = setTimeout(() => this.presence.emit('gone', 'ice disconnected'), iceGraceMs);
        this.iceTimer.unref();
      }
    });
    this.events.on('close', () => {
      if (this.iceTimer) clearTimeout(this.iceTimer);
    });
  }

  get params(): WebRtcParams {
    return {
      id: this.transport.id,
      iceParameters: this.transport.iceParameters,
      iceCandidates: this.transport.iceCandidates,
      dtlsParameters: this.transport.dtlsParameters,
    };
  }
  get state(): WebRtcState {
    return { id: this.transport.id, iceState: this.transport.iceState, dtlsState: this.transport.dtlsState };
  }
  connect(dtlsParameters: unknown): Promise<void> {
    return this.transport.connect({ dtlsParameters: dtlsParameters as types.DtlsParameters });
  }
  /** Starts paused: the browser resumes once its track is wired (mediasoup's advice). */
  async consume(producerId: string, rtpCapabilities: unknown): Promise<Outlet> {
    await this.route?.ensure(producerId);
    return new Outlet(
      await this.transport.consume({ producerId, rtpCapabilities: rtpCapabilities as RtpCapabilities, paused: true }),
    );
  }
}
