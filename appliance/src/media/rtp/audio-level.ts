// The ssrc-audio-level RTP header extension (RFC 6464), written into the
// room's microphone packets on their way from ffmpeg into the edge. ffmpeg's
// RTP muxer cannot write header extensions; without them mediasoup's
// ActiveSpeakerObserver cannot hear who speaks. ffmpeg measures the level
// (astats, one line per 20 ms frame, see ffmpeg/args.ts); these pure
// functions turn that into the extension's byte and put it into a packet as a
// one-byte header extension (RFC 8285).

export const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

/** Below this level (dBov) a frame counts as silence: no voice flag, and the host does not hear it speak (speaker-gate.ts). */
export const VOICE_THRESHOLD_DB = -50;

/**
 * Reads one line of ffmpeg's level print (`lavfi.astats.Overall.RMS_level=-27.1`).
 * Returns the level in dBFS, -Infinity for digital silence, null for any other line.
 */
export function parseLevelLine(line: string): number | null {
  const m = /^lavfi\.astats\.Overall\.RMS_level=(-?inf|-?\d+(?:\.\d+)?)\s*$/.exec(line.trim());
  if (!m) return null;
  return m[1]!.endsWith('inf') ? -Infinity : Number(m[1]);
}

/** The extension's byte: bit 7 says voice, bits 0-6 the level as -dBov (0 loudest, 127 silence). */
export function audioLevelByte(dbov: number): number {
  const level = Number.isFinite(dbov) ? Math.min(127, Math.max(0, Math.round(-dbov))) : 127;
  return (dbov > VOICE_THRESHOLD_DB ? 0x80 : 0) | level;
}

/**
 * The packet with the audio level written as a one-byte header extension.
 * Returns null for what is not an RTP version 2 packet, and the packet
 * unchanged when it already carries extensions (nothing of ours to add).
 */
export function withAudioLevel(packet: Buffer, extId: number, byte: number): Buffer | null {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return null;
  const csrcCount = packet[0]! & 0x0f;
  const headerLen = 12 + 4 * csrcCount;
  if (packet.length < headerLen) return null;
  if (packet[0]! & 0x10) return packet;
  const ext = Buffer.from([0xbe, 0xde, 0x00, 0x01, (extId << 4) | 0, byte, 0, 0]);
  const out = Buffer.concat([packet.subarray(0, headerLen), ext, packet.subarray(headerLen)]);
  out[0] = out[0]! | 0x10;
  return out;
}
