// ffmpeg command lines, as pure functions of config (tested without running ffmpeg).
//   real:      V4L2 camera + ALSA microphone (the room kit)
//   simulated: testsrc2 pattern with a band in the site's own colour + a tone at
//              the site's own pitch, rising and falling like speech, so a receiver
//              can tell whose stream it got
//              (or silence, for a room where nobody speaks).
// Either way ffmpeg also prints the microphone's level every 20 ms on file
// descriptor 3, for the audio level the edge writes into each packet.
import { createHash } from 'node:crypto';
import { INGEST, type VideoCodec } from '../adapter/index.js';
import type { CameraFormat } from '../capture/camera-formats.js';
import type { EchoCancelSetting } from '../capture/echo-source.js';
import type { H264Encoder } from '../capture/video-encoder.js';

export interface CaptureConfig {
  hardware: 'real' | 'simulated';
  videoDevice: string;
  audioDevice: string;
  width: number;
  height: number;
  fps: number;
  videoCodec: VideoCodec;
  videoKbps: number;
  audioKbps: number;
  /** Simulated microphone: a tone that rises and falls like speech, or a room where nobody speaks. */
  voice: 'tone' | 'silent';
  /** Who sends the picture: GStreamer answers keyframe requests, ffmpeg does not. */
  videoSender: 'gstreamer' | 'ffmpeg';
  /** gst-launch-1.0 to run when GStreamer sends the picture. */
  gstLaunchBin: string;
  /** GStreamer's H.264 encoder (capture/video-encoder.ts): the GPU's where it works; absent: x264. */
  h264Encoder?: H264Encoder;
  /** What a real camera is asked for (GStreamer only); 'auto' asks the camera what it offers. */
  cameraFormat: CameraFormat | 'auto';
  /**
   * Bitrate of the small picture for thumbnails (GStreamer only, layers.ts);
   * 0 or absent: the camera is sent at full size only.
   */
  smallKbps?: number;
  /**
   * A real room's microphone through the box's echo canceller when the audio
   * server offers it (capture/echo-source.ts); null or absent: `audioDevice` as it is.
   */
  echoCancel?: EchoCancelSetting | null;
}

export interface RtpTarget {
  ip: string;
  port: number;
  rtcpPort: number;
  ssrc: number;
}

/** A site's colour (RGB) for the simulated pattern: stable, and far from grey. */
export function siteColour(siteId: string): [number, number, number] {
  const h = createHash('sha256').update(siteId).digest();
  // Each channel is either dark or bright, so decoded colours stay distinguishable.
  const pick = (b: number): number => (b & 1 ? 0xe0 : 0x20);
  const rgb: [number, number, number] = [pick(h[0]!), pick(h[1]!), pick(h[2]!)];
  // All-dark or all-bright would be grey: force one channel the other way.
  if (rgb[0] === rgb[1] && rgb[1] === rgb[2]) rgb[2] = rgb[2] === 0xe0 ? 0x20 : 0xe0;
  return rgb;
}

export const siteToneHz = (siteId: string): number =>
  300 + (createHash('sha256').update(siteId).digest().readUInt16BE(4) % 600);

const hex = (rgb: [number, number, number]): string => '0x' + rgb.map((c) => c.toString(16).padStart(2, '0')).join('');

/** Height of the coloured band at the bottom of the simulated picture. */
export const bandHeight = (height: number): number => Math.max(16, Math.round(height / 4 / 2) * 2);

/**
 * The simulated voice rises and falls like speech (about 2.6 syllables a
 * second). A steady tone would not do: the speaker observer learns a room's
 * noise floor and counts only what rises above it.
 */
const SYLLABLES = "volume='if(isnan(t),0,pow(abs(sin(2*PI*1.3*t)),3))':eval=frame";

/**
 * A real room's microphone: an ALSA device, which on a box with the echo
 * canceller is PipeWire's echo-cancelled source (capture/echo-source.ts).
 */
export const microphoneInput = (cfg: Pick<CaptureConfig, 'audioDevice'>): string[] => [
  '-f',
  'alsa',
  '-ac',
  '2',
  '-ar',
  '48000',
  '-i',
  cfg.audioDevice,
];

function inputs(cfg: CaptureConfig, siteId: string, withVideo: boolean): string[] {
  if (cfg.hardware === 'real') {
    return [
      ...(withVideo
        ? [
            '-f',
            'v4l2',
            '-framerate',
            String(cfg.fps),
            '-video_size',
            `${cfg.width}x${cfg.height}`,
            '-i',
            cfg.videoDevice,
          ]
        : []),
      ...microphoneInput(cfg),
    ];
  }
  const band = bandHeight(cfg.height);
  const video = `testsrc2=size=${cfg.width}x${cfg.height}:rate=${cfg.fps},drawbox=x=0:y=${cfg.height - band}:w=${cfg.width}:h=${band}:color=${hex(siteColour(siteId))}:t=fill`;
  const audio =
    cfg.voice === 'silent'
      ? 'anullsrc=r=48000:cl=mono'
      : `sine=frequency=${siteToneHz(siteId)}:sample_rate=48000,${SYLLABLES}`;
  return ['-re', ...(withVideo ? ['-f', 'lavfi', '-i', video] : []), '-f', 'lavfi', '-i', audio];
}

function videoEncoder(cfg: CaptureConfig): string[] {
  const gop = String(cfg.fps * 2);
  const rate = ['-b:v', `${cfg.videoKbps}k`, '-maxrate', `${cfg.videoKbps}k`, '-bufsize', `${cfg.videoKbps * 2}k`];
  if (cfg.videoCodec === 'h264') {
    return [
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-profile:v',
      'baseline',
      '-pix_fmt',
      'yuv420p',
      '-g',
      gop,
      ...rate,
      '-payload_type',
      String(INGEST.h264.payloadType),
    ];
  }
  return [
    '-c:v',
    'libvpx',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-lag-in-frames',
    '0',
    '-auto-alt-ref',
    '0',
    '-error-resilient',
    '1',
    '-pix_fmt',
    'yuv420p',
    '-g',
    gop,
    ...rate,
    '-payload_type',
    String(INGEST.vp8.payloadType),
  ];
}

/** The key of ffmpeg's level print; each line reads `lavfi.astats.Overall.RMS_level=-27.1`. */
const LEVEL_KEY = 'lavfi.astats.Overall.RMS_level';
/**
 * 20 ms frames (Opus's own), each measured alone and printed on fd 3. The
 * colon of `pipe:3` is escaped twice: once for the filter graph, once for the
 * filter's option string. `direct` hands each line over as it is printed:
 * without it ffmpeg fills a 32 KB buffer first (about nine seconds of lines),
 * the edge wrote one stale level into every packet for seconds at a time, and
 * the host heard a room start speaking up to nine seconds late (speaker-gate.ts).
 */
export const LEVEL_FILTER = `asetnsamples=n=960:p=0,astats=metadata=1:reset=1:measure_perchannel=none:measure_overall=RMS_level,ametadata=mode=print:key=${LEVEL_KEY}:file=pipe\\\\:3:direct=1`;

const rtpUrl = (t: RtpTarget): string => `rtp://${t.ip}:${t.port}?rtcpport=${t.rtcpPort}&pkt_size=1200`;

/**
 * One ffmpeg process sending the room's sound, and its picture too unless
 * `video` is null (GStreamer sends the picture: capture/gst-args.ts).
 */
export function ingestArgs(cfg: CaptureConfig, siteId: string, video: RtpTarget | null, audio: RtpTarget): string[] {
  return [
    ...inputs(cfg, siteId, video !== null),
    ...(video ? ['-map', '0:v:0', ...videoEncoder(cfg), '-ssrc', String(video.ssrc), '-f', 'rtp', rtpUrl(video)] : []),
    '-map',
    video ? '1:a:0' : '0:a:0',
    '-filter:a',
    LEVEL_FILTER,
    '-c:a',
    'libopus',
    '-ac',
    '2',
    '-ar',
    '48000',
    '-b:a',
    `${cfg.audioKbps}k`,
    '-application',
    'voip',
    '-payload_type',
    String(INGEST.opus.payloadType),
    '-ssrc',
    String(audio.ssrc),
    '-f',
    'rtp',
    rtpUrl(audio),
  ];
}
