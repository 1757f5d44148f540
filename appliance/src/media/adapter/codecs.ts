// The codecs every edge's routers offer. All edges run the same list, which is
// what lets a pipe consumer's RTP parameters be produced unchanged on the
// other side of a cascade link (payload types must agree on both routers).
import type { types } from 'mediasoup';
import { AUDIO_LEVEL_URI } from '../rtp/audio-level.js';

export const ROUTER_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];

/** Payload types and codec lines that the local ffmpeg sender uses. */
export const INGEST = {
  opus: { payloadType: 100, mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  vp8: { payloadType: 101, mimeType: 'video/VP8', clockRate: 90000 },
  h264: { payloadType: 102, mimeType: 'video/H264', clockRate: 90000 },
  /** Header extension id of the microphone's audio level (written by rtp/level-relay.ts). */
  audioLevelExtId: 1,
} as const;

export type VideoCodec = 'vp8' | 'h264';

/** RTP parameters of what the local ffmpeg sends, for producing it into a router. */
export function ingestRtpParameters(
  kind: 'audio' | 'video',
  videoCodec: VideoCodec,
  ssrc: number,
  cname: string,
): types.RtpParameters {
  if (kind === 'audio') {
    return {
      codecs: [{ ...INGEST.opus, parameters: { 'sprop-stereo': 1 } }],
      headerExtensions: [{ uri: AUDIO_LEVEL_URI, id: INGEST.audioLevelExtId }],
      encodings: [{ ssrc }],
      rtcp: { cname, reducedSize: false },
    };
  }
  const codec =
    videoCodec === 'h264'
      ? { ...INGEST.h264, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } }
      : { ...INGEST.vp8 };
  // The edge may ask the sender for a keyframe (a TV joins, a speaker's camera
  // resumes): GStreamer answers a PLI or FIR at once, ffmpeg ignores both.
  const rtcpFeedback = [
    { type: 'nack', parameter: 'pli' },
    { type: 'ccm', parameter: 'fir' },
  ];
  return { codecs: [{ ...codec, rtcpFeedback }], encodings: [{ ssrc }], rtcp: { cname, reducedSize: false } };
}

/** Codec name, clock rate and channels of the first codec, e.g. for an SDP rtpmap line. */
export function firstCodec(p: types.RtpParameters): {
  payloadType: number;
  name: string;
  clockRate: number;
  channels?: number;
  fmtp: string;
} {
  const c = p.codecs[0];
  if (!c) throw new Error('RTP parameters without a codec');
  const fmtp = Object.entries(c.parameters ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(';');
  return {
    payloadType: c.payloadType,
    name: c.mimeType.split('/')[1] ?? c.mimeType,
    clockRate: c.clockRate,
    ...(c.channels ? { channels: c.channels } : {}),
    fmtp,
  };
}
