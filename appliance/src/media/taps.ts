// Taps: one stream of a meeting sent out as plain RTP to a fixed address, for a
// local decoder (the TV output), a recorder, or a test that decodes what
// arrived. A tap closes by itself when its stream ends.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DiemcauError } from '@diemcau/shared';
import type { PlainOut, RoomRouter, Stream } from './adapter/index.js';
import type { BlockList } from 'node:net';
import { addressKind, inCidrList, neverAllowed } from './addresses.js';
import type { Refusals } from './limits.js';
import { receiverSdp } from './sdp.js';

export interface TapRequest {
  producerId: string;
  ip: string;
  port: number;
  rtcpPort?: number;
}

export interface TapAnswer {
  tapId: string;
  kind: 'audio' | 'video';
  siteId: string;
  /** What a plain RTP receiver at ip:port needs (e.g. `ffmpeg -i tap.sdp`). */
  sdp: string;
}

export class TapSet {
  private readonly taps = new Map<string, PlainOut>();

  constructor(
    private readonly router: RoomRouter,
    private readonly findStream: (producerId: string) => Stream | undefined,
    /** Where taps may send (config tapAllow; loopback only by default). */
    private readonly allow: BlockList,
    private readonly refusals: Refusals,
    private readonly log: Logger,
  ) {}

  get transports(): PlainOut[] {
    return [...this.taps.values()];
  }

  async create(req: TapRequest): Promise<TapAnswer> {
    // Even the admin token cannot aim a meeting at an arbitrary host: only where the box's settings allow.
    const kind = addressKind(req.ip);
    if (neverAllowed(kind))
      throw this.refusals.refuse(
        'APPL_ERR_MEDIA_FORBIDDEN',
        `tap-target-${kind}`,
        `a tap cannot send to ${req.ip} (${kind})`,
        { to: req.ip },
      );
    if (!inCidrList(this.allow, req.ip)) {
      throw this.refusals.refuse(
        'APPL_ERR_MEDIA_FORBIDDEN',
        'tap-target-not-allowed',
        `taps may not send to ${req.ip} (DIEMCAU_EDGE_TAP_ALLOW)`,
        { to: req.ip },
      );
    }
    const stream = this.findStream(req.producerId);
    if (!stream) throw new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', `no stream ${req.producerId} in this meeting`);
    const out = await this.router.createPlainOut('127.0.0.1');
    try {
      await out.connect({ ip: req.ip, port: req.port, rtcpPort: req.rtcpPort ?? req.port + 1 });
      const outlet = await out.consume(stream.id, this.router.rtpCapabilities);
      const tapId = randomUUID();
      this.taps.set(tapId, out);
      out.events.on('close', () => this.taps.delete(tapId));
      outlet.events.on('close', () => out.close());
      // A decoder that joins mid-stream needs a key frame to start from.
      setTimeout(() => void outlet.requestKeyFrame().catch(() => {}), 200).unref();
      this.log.info({ tapId, producerId: stream.id, to: `${req.ip}:${req.port}` }, 'tap opened');
      return {
        tapId,
        kind: stream.kind,
        siteId: stream.info.siteId,
        sdp: receiverSdp(stream.kind, outlet.rtpParameters, req.ip, req.port),
      };
    } catch (err) {
      out.close();
      throw err instanceof DiemcauError
        ? err
        : new DiemcauError('APPL_ERR_MEDIA_CONFLICT', 'cannot open tap', { cause: err });
    }
  }

  close(tapId: string): boolean {
    const t = this.taps.get(tapId);
    t?.close();
    return t !== undefined;
  }

  closeAll(): void {
    for (const t of [...this.taps.values()]) t.close();
  }
}
