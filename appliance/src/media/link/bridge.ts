// One end of a cascade link, the same code on both edges. What goes out: a
// stream of this router is consumed on the pipe transport and announced to the
// peer ('produce' with the producer's id and the consumer's RTP parameters);
// its pause/resume/close follow. What comes in: the peer's announcements are
// produced on our pipe transport with the same id, so a stream keeps one id
// across the whole cascade, and paused/resumed/closed in step.
import type { Logger } from 'pino';
import type { LinkStats } from '@diemcau/shared';
import type { Outlet, PipeLink, RtpParameters, Stream } from '../adapter/index.js';
import type { LinkEvent, WireRtpParameters } from './protocol.js';

/** The room's side of a bridge: where incoming streams go. */
export interface BridgeHost {
  addStream(stream: Stream, via: PipeBridge): void;
}

export class PipeBridge {
  private readonly outlets = new Map<string, Outlet>();
  private readonly incoming = new Map<string, Stream>();
  // Incoming events run one at a time, in order: a 'pause' must not overtake
  // the 'produce' it refers to.
  private inbox: Promise<void> = Promise.resolve();
  private closed = false;
  state: LinkStats['state'] = 'connecting';
  rttMs: number | null = null;

  constructor(
    readonly pipe: PipeLink,
    readonly peerEdgeId: string,
    readonly direction: 'up' | 'down',
    private readonly host: BridgeHost,
    private readonly send: (ev: LinkEvent) => void,
    private readonly log: Logger,
  ) {}

  get id(): string { return this.pipe.id; }
  get isClosed(): boolean { return this.closed || this.pipe.closed; }

  /** Sends one of our streams across (once; a second offer of the same stream is ignored). */
  async offer(stream: Stream): Promise<void> {
    if (this.isClosed || stream.closed || this.outlets.has(stream.id) || this.incoming.has(stream.id)) return;
    let outlet: Outlet;
    try {
      outlet = await this.pipe.consume(stream.id);
    } catch (err) {
      // The stream or the link closed while we were at it: nothing to send.
      if (!this.isClosed && !stream.closed) this.log.warn({ err, producerId: stream.id }, 'pipe consume failed');
      return;
    }
    if (this.isClosed) return outlet.close();
    this.outlets.set(stream.id, outlet);
    outlet.events.on('producerpause', () => this.send({ type: 'pause', producerId: stream.id }));
    outlet.events.on('producerresume', () => this.send({ type: 'resume', producerId: stream.id }));
    outlet.events.on('producerclose', () => this.send({ type: 'close', producerId: stream.id }));
    outlet.events.on('close', () => this.outlets.delete(stream.id));
    this.send({
      type: 'produce',
      producerId: stream.id,
      kind: stream.kind,
      rtpParameters: outlet.rtpParameters as unknown as WireRtpParameters,
      paused: outlet.producerPaused,
      siteId: stream.info.siteId,
      originEdgeId: stream.info.originEdgeId,
    });
  }

  /** Handles one event from the peer, in arrival order. Never throws. */
  receive(ev: LinkEvent): Promise<void> {
    this.inbox = this.inbox.then(() => this.apply(ev)).catch((err: unknown) => {
      this.log.warn({ err, event: ev.type }, 'link event failed');
    });
    return this.inbox;
  }

  private async apply(ev: LinkEvent): Promise<void> {
    if (this.isClosed) return;
    switch (ev.type) {
      case 'produce': {
        if (this.incoming.has(ev.producerId)) return;
        const stream = await this.pipe.produce({
          id: ev.producerId,
          kind: ev.kind,
          rtpParameters: ev.rtpParameters as unknown as RtpParameters,
          paused: ev.paused,
          info: { siteId: ev.siteId, originEdgeId: ev.originEdgeId },
        });
        this.incoming.set(stream.id, stream);
        stream.events.on('close', () => this.incoming.delete(stream.id));
        this.host.addStream(stream, this);
        return;
      }
      case 'pause':
        return this.incoming.get(ev.producerId)?.pause();
      case 'resume':
        return this.incoming.get(ev.producerId)?.resume();
      case 'close':
        return this.incoming.get(ev.producerId)?.close();
      case 'ping':
        if (ev.rttMs !== undefined) this.rttMs = ev.rttMs;
        return;
    }
  }

  get sendStreams(): number { return this.outlets.size; }
  get recvStreams(): number { return this.incoming.size; }
  get incomingStreams(): Stream[] { return [...this.incoming.values()]; }

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
      sendStreams: this.outlets.size,
      recvStreams: this.incoming.size,
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
    this.pipe.close();
  }
}
