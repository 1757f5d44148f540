// A UDP hop on 127.0.0.1 for the camera's RTCP, in both directions, so that a
// keyframe request reaches the encoder. The edge's comedia transport answers
// RTCP to the address it first heard RTCP from; a GStreamer sender sends its
// reports from a socket that never reads, so a PLI sent there is lost. This
// relay owns the one socket the transport sees: the sender's reports go out
// through it, and what the transport sends back (PLI, FIR, receiver reports) is
// passed to the port where the sender's rtpbin listens. Its rtpsession turns a
// PLI into a force-key-unit event and the encoder starts a new picture at once.
// Anything that is not RTCP is dropped and counted.
import type dgram from 'node:dgram';
import type { Logger } from 'pino';
import { bindLocal } from './udp.js';

/** RTCP packet types 192–223 (RFC 5761 §4), version 2. */
export function isRtcp(msg: Buffer): boolean {
  if (msg.length < 8 || msg[0]! >> 6 !== 2) return false;
  const pt = msg[1]!;
  return pt >= 192 && pt <= 223;
}

/** The feedback messages that ask for a keyframe: PSFB (206) with FMT 1 (PLI) or 4 (FIR). */
export function asksForKeyframe(msg: Buffer): boolean {
  // A compound packet: walk its parts by their length words.
  for (let off = 0; off + 4 <= msg.length;) {
    const fmt = msg[off]! & 0x1f;
    const pt = msg[off + 1]!;
    if (pt === 206 && (fmt === 1 || fmt === 4)) return true;
    off += (msg.readUInt16BE(off + 2) + 1) * 4;
  }
  return false;
}

/** RTCP RR (201) with no report blocks: 8 bytes, length word 1. */
export function emptyReceiverReport(ssrc: number): Buffer {
  const b = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 0]);
  b.writeUInt32BE(ssrc >>> 0, 4);
  return b;
}

export class RtcpRelay {
  /** Packets that were not RTCP, dropped. */
  dropped = 0;
  toTransport = 0;
  toSender = 0;
  /** PLIs and FIRs passed to the sender. */
  keyframeRequests = 0;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly transport: { ip: string; port: number },
    /** Where the sender's rtpbin reads RTCP (a free port picked at open). */
    readonly senderPort: number,
    private readonly log: Logger,
  ) {
    socket.on('message', (msg, from) => this.forward(msg, from));
    // A send error (the transport closed first) must not end the process.
    socket.on('error', (err) => log.warn({ err }, 'rtcp relay socket error'));
  }

  /**
   * `transport` is the edge transport's RTCP address. The sender's receive port
   * is picked by binding and releasing it: if another process takes it in
   * between, the sender fails to start and the ingest starts afresh.
   *
   * A comedia transport learns where to send its feedback from the first RTCP
   * it hears, and a sender's first report comes only seconds after it starts:
   * until then every keyframe request would be dropped. So the relay speaks
   * first, with an empty receiver report in the name of `ssrc`.
   */
  static async open(transport: { ip: string; port: number }, ssrc: number, log: Logger): Promise<RtcpRelay> {
    const probe = await bindLocal();
    const senderPort = probe.address().port;
    probe.close();
    const relay = new RtcpRelay(await bindLocal(), transport, senderPort, log);
    relay.socket.send(emptyReceiverReport(ssrc), transport.port, transport.ip);
    return relay;
  }

  /** Where the sender sends its RTCP. */
  get port(): number {
    return this.socket.address().port;
  }

  private forward(msg: Buffer, from: dgram.RemoteInfo): void {
    if (!isRtcp(msg)) {
      if (this.dropped++ === 0)
        this.log.warn({ bytes: msg.length, from: from.port }, 'rtcp relay dropped a packet that is not RTCP');
      return;
    }
    if (from.port === this.transport.port && from.address === this.transport.ip) {
      this.toSender++;
      if (asksForKeyframe(msg)) this.keyframeRequests++;
      this.socket.send(msg, this.senderPort, '127.0.0.1');
    } else {
      this.toTransport++;
      this.socket.send(msg, this.transport.port, this.transport.ip);
    }
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      /* already closed */
    }
  }
}
