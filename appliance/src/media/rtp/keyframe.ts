// Whether an RTP packet starts a keyframe, for H.264 (RFC 6184) and VP8
// (RFC 7741). Used by tests and benchmarks that watch a receiver's packets to
// see when a picture becomes decodable.
import type { VideoCodec } from '../adapter/index.js';

/** RTP payload after the fixed header, CSRCs and header extensions; null if not RTP. */
export function rtpPayload(b: Buffer): Buffer | null {
  if (b.length < 12 || b[0]! >> 6 !== 2) return null;
  let off = 12 + 4 * (b[0]! & 0x0f);
  if ((b[0]! >> 4) & 1) {
    if (b.length < off + 4) return null;
    off += 4 + 4 * b.readUInt16BE(off + 2);
  }
  return b.length > off ? b.subarray(off) : null;
}

/** An IDR slice or a sequence parameter set starts, alone, aggregated (STAP-A) or fragmented (FU-A). */
function h264Keyframe(p: Buffer): boolean {
  const type = p[0]! & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 24) {
    for (let off = 1; off + 2 < p.length; off += 2 + p.readUInt16BE(off)) {
      const inner = p[off + 2]! & 0x1f;
      if (inner === 5 || inner === 7) return true;
    }
    return false;
  }
  if (type === 28 && p.length > 1) {
    const start = (p[1]! & 0x80) !== 0;
    const inner = p[1]! & 0x1f;
    return start && (inner === 5 || inner === 7);
  }
  return false;
}

/** The first packet of a VP8 key frame: start of partition 0 with the P bit clear. */
function vp8Keyframe(p: Buffer): boolean {
  const start = (p[0]! & 0x10) !== 0 && (p[0]! & 0x0f) === 0;
  if (!start) return false;
  let off = 1;
  if (p[0]! & 0x80) {
    const x = p[1]!;
    off = 2;
    if (x & 0x80) off += p[off]! & 0x80 ? 2 : 1; // picture id, 7 or 15 bits
    if (x & 0x40) off += 1; // TL0PICIDX
    if (x & 0x30) off += 1; // TID / KEYIDX
  }
  return off < p.length && (p[off]! & 0x01) === 0;
}

export function isKeyframePacket(packet: Buffer, codec: VideoCodec): boolean {
  const p = rtpPayload(packet);
  if (!p) return false;
  return codec === 'h264' ? h264Keyframe(p) : vp8Keyframe(p);
}
