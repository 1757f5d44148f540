/**
 * Watches the MQTT byte stream of one connection and fails it as soon as a
 * packet's fixed header announces more than `maxBytes`. aedes has no packet
 * size limit of its own and would buffer up to MQTT's 256 MB per packet; here
 * the connection is cut after reading at most 5 header bytes of such a packet.
 * A PUBLISH at QoS 2 is cut at its first byte too: devices never use QoS 2
 * (broker/limits.ts), so its body is not worth buffering before the refusal.
 *
 * It reads beside aedes, not in front of it: `scan` runs on each chunk as
 * the socket hands it to aedes (a 'data' listener), and the caller destroys
 * the socket on an error, so aedes sees at most the chunk that carried the
 * header. A stream stage in front of aedes cost two stream hops per packet,
 * a tenth of the fleet's CPU at 10,000 boxes.
 */
export class PacketSizeGuard {
  /** Bytes still to skip of the current packet's body. */
  private remaining = 0;
  /** 0: expecting a packet's first byte; 1..4: reading the length varint. */
  private lengthBytes = 0;
  private length = 0;
  private multiplier = 1;

  constructor(private readonly maxBytes: number) {}

  /** Follows the packets in `chunk`; the reason to cut the connection, or null. */
  scan(chunk: Buffer): Error | null {
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
          return new QoS2PublishError();
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
        return new OversizePacketError(this.length, this.maxBytes);
      }
      if ((byte & 0x80) === 0) {
        this.remaining = this.length;
        this.lengthBytes = 0;
      } else if (++this.lengthBytes > 4) {
        return new Error('malformed MQTT remaining length');
      }
    }
    return null;
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
