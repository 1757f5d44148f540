// Browsers in a meeting (laptops and tablets in the room, a travelling leader):
// each is a peer with WebRTC transports made by mediasoup-client on the page.
// What a browser sends enters the room like the room's own camera, so it is
// forwarded up and down the cascade; what it receives it consumes here.
// A browser that goes away without saying so (tab closed, laptop gone) is
// noticed by its transports (DTLS closed, ICE disconnected for 30 s) and closed.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DiemcauError } from '@diemcau/shared';
import type { ListenOptions, Outlet, RoomRouter, RtpParameters, Stream, StreamInfo, WebRtcParams, WebRtcPort } from './adapter/index.js';

interface Peer {
  id: string;
  siteId: string;
  transports: Map<string, WebRtcPort>;
  outlets: Map<string, Outlet>;
}

export interface ConsumeAnswer {
  id: string;
  producerId: string;
  kind: 'audio' | 'video';
  rtpParameters: RtpParameters;
  siteId: string;
}

export class PeerSet {
  private readonly peers = new Map<string, Peer>();
  private count = 0;

  constructor(
    private readonly router: RoomRouter,
    private readonly listen: ListenOptions,
    private readonly edgeId: string,
    /** Site a browser's streams are shown as: the room's own site, or the edge for a guest on the core. */
    private readonly siteOf: () => string,
    private readonly findStream: (producerId: string) => Stream | undefined,
    private readonly addStream: (s: Stream) => void,
    private readonly log: Logger,
  ) {}

  create(): { peerId: string; rtpCapabilities: unknown } {
    const id = randomUUID();
    this.count += 1;
    this.peers.set(id, { id, siteId: `${this.siteOf()}.web${this.count}`.slice(0, 64), transports: new Map(), outlets: new Map() });
    this.log.info({ peerId: id }, 'browser joined');
    return { peerId: id, rtpCapabilities: this.router.rtpCapabilities };
  }

  async createTransport(peerId: string): Promise<WebRtcParams> {
    const peer = this.peer(peerId);
    const t = await this.router.createWebRtc(this.listen);
    peer.transports.set(t.id, t);
    t.events.on('close', () => peer.transports.delete(t.id));
    t.presence.on('gone', (why) => {
      this.log.info({ peerId, why }, 'browser gone');
      this.close(peerId);
    });
    return t.params;
  }

  async connect(peerId: string, transportId: string, dtlsParameters: unknown): Promise<void> {
    await this.transport(peerId, transportId).connect(dtlsParameters);
  }

  async produce(peerId: string, transportId: string, kind: 'audio' | 'video', rtpParameters: unknown): Promise<{ id: string }> {
    const peer = this.peer(peerId);
    const info: StreamInfo = { siteId: peer.siteId, originEdgeId: this.edgeId };
    const stream = await this.transport(peerId, transportId).produce({ kind, rtpParameters: rtpParameters as RtpParameters, info });
    this.addStream(stream);
    return { id: stream.id };
  }

  async consume(peerId: string, transportId: string, producerId: string, rtpCapabilities: unknown): Promise<ConsumeAnswer> {
    const peer = this.peer(peerId);
    const stream = this.findStream(producerId);
    if (!stream) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', `no stream ${producerId}`);
    if (!this.router.canConsume(producerId, rtpCapabilities as Parameters<RoomRouter['canConsume']>[1])) {
      throw new DiemcauError('APPL_ERR_MEDIA_CONFLICT', 'this browser cannot decode that stream');
    }
    const outlet = await this.transport(peerId, transportId).consume(producerId, rtpCapabilities);
    peer.outlets.set(outlet.id, outlet);
    outlet.events.on('close', () => peer.outlets.delete(outlet.id));
    return { id: outlet.id, producerId, kind: outlet.kind, rtpParameters: outlet.rtpParameters, siteId: stream.info.siteId };
  }

  async resume(peerId: string, consumerId: string): Promise<void> {
    const outlet = this.peer(peerId).outlets.get(consumerId);
    if (!outlet) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', `no consumer ${consumerId}`);
    await outlet.resume();
  }

  /** Closing a peer's transports closes its streams, here and across the cascade. */
  close(peerId: string): boolean {
    const peer = this.peers.get(peerId);
    if (!peer) return false;
    this.peers.delete(peerId);
    for (const t of [...peer.transports.values()]) t.close();
    this.log.info({ peerId }, 'browser left');
    return true;
  }

  closeAll(): void {
    for (const id of [...this.peers.keys()]) this.close(id);
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
