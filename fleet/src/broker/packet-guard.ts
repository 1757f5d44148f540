import { Transform, type TransformCallback } from 'node:stream';

/**
 * Watches the MQTT byte stream of one connection and fails it as soon as a
 * packet's fixed header announces more than `maxBytes`. aedes has no packet
 * size limit of its own and would buffer up to MQTT's 256 MB per packet; here
 * the connection is cut after reading at most 5 header bytes of such a packet.
 * A PUBLISH at QoS 2 is cut at its first byte too: devices never use QoS 2
 * (broker/limits.ts), so its body is not worth buffering before the refusal.
 * Bytes pass through unchanged.
 */
export class PacketSizeGuard extends Transform {
  /** Bytes still to skip of the current packet's body. */
  private remaining = 0;
  /** 0: expecting a packet's first byte; 1..4: reading the length varint. */
  private lengthBytes = 0;
  private length = 0;
  private multiplier = 1;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, chunk.length - i);
        this.remaining -= skip;
        i += skip;
        continue;
      }
      if (this.lengthBytes === 0) {
        // First byte of a packet (type and flags); the length follows.
        const first = chunk[i]!;
        if (first >> 4 === PUBLISH && ((first >> 1) & 3) === 2) {
          done(new QoS2PublishError());
          return;
        }
        this.lengthBytes = 1;
        this.length = 0;
        this.multiplier = 1;
        i += 1;
        continue;
      }
      const byte = chunk[i]!;
      i += 1;
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if (this.length > this.maxBytes) {
        done(new OversizePacketError(this.length, this.maxBytes));
        return;
      }
      if ((byte & 0x80) === 0) {
        this.remaining = this.length;
        this.lengthBytes = 0;
      } else if (++this.lengthBytes > 4) {
        done(new Error('malformed MQTT remaining length'));
        return;
      }
    }
    done(null, chunk);
  }
}

const PUBLISH = 3;

export class QoS2PublishError extends Error {
  constructor() {
    super('QoS 2 PUBLISH from a device');
    this.name = 'QoS2PublishError';
  }
}

export class OversizePacketError extends Error {
  constructor(
    readonly announced: number,
    readonly limit: number,
  ) {
    super(`MQTT packet of ${announced} bytes exceeds the limit of ${limit}`);
    this.name = 'OversizePacketError';
  }
}
