// gst-launch-1.0 command lines for the room's camera, as pure functions of
// config (tested without running GStreamer). GStreamer sends the picture
// because it answers keyframe requests: its rtpbin reads the edge's RTCP
// (through rtp/rtcp-relay.ts) and turns a PLI or FIR into a force-key-unit
// event, so a new speaker's picture or a TV that joins late gets a keyframe in
// tens of milliseconds instead of waiting for the next periodic one.
//   real:      a V4L2 camera, in the mode chosen by capture/camera-formats.ts
//   simulated: a moving test pattern with a band in the site's own colour
//              (the same band as ffmpeg/args.ts, so a receiver can tell whose
//              stream it got)
import { INGEST } from '../adapter/index.js';
import { bandHeight, siteColour, type CaptureConfig, type RtpTarget } from '../ffmpeg/args.js';
import type { CameraFormat } from './camera-formats.js';
import { SOFTWARE, h264EncoderElements } from './video-encoder.js';

/**
 * The small picture's size: 320 wide at most (320x180 for a 16:9 camera), half
 * the camera's width for a smaller one, the camera's shape kept, even sides
 * (H.264 in 4:2:0 needs them).
 */
export function smallLayerSize(width: number, height: number): { width: number; height: number } {
  const even = (n: number): number => Math.max(2, 2 * Math.round(n / 2));
  const w = even(Math.min(320, width / 2));
  return { width: w, height: even((w * height) / width) };
}

export interface GstVideoTargets {
  /** The edge's video transport (RTP) and the SSRC it expects. */
  rtp: RtpTarget;
  /** The RTCP relay: where the sender's reports go, and where it reads the edge's feedback. */
  rtcp: { sendPort: number; recvPort: number };
}

/**
 * Seconds between periodic keyframes. Keyframe requests are answered at once,
 * so the periodic ones are only a safety net (a receiver whose request was
 * lost); a long interval keeps the bitrate for the picture itself.
 */
export const KEYFRAME_INTERVAL_S = 10;

const argb = (rgb: [number, number, number]): string =>
  '0xff' + rgb.map((c) => c.toString(16).padStart(2, '0')).join('');

/** The chain that yields the raw picture, and any branches that feed it from elsewhere in the line. */
function source(cfg: CaptureConfig, siteId: string, camera: CameraFormat): { chain: string[]; branches: string[] } {
  const { width: w, height: h, fps } = cfg;
  const raw = `video/x-raw,width=${w},height=${h},framerate=${fps}/1`;
  if (cfg.hardware === 'real') {
    const dev = `v4l2src device=${cfg.videoDevice} do-timestamp=true`;
    const i420 = ['videoconvert', '!', 'video/x-raw,format=I420'];
    if (camera === 'mjpeg')
      return {
        chain: [dev, '!', `image/jpeg,width=${w},height=${h},framerate=${fps}/1`, '!', 'jpegdec', '!', ...i420],
        branches: [],
      };
    if (camera === 'h264') {
      return {
        chain: [
          dev,
          '!',
          `video/x-h264,width=${w},height=${h},framerate=${fps}/1`,
          '!',
          'h264parse',
          '!',
          'avdec_h264',
          '!',
          ...i420,
        ],
        branches: [],
      };
    }
    return { chain: [dev, '!', raw, '!', ...i420], branches: [] };
  }
  const band = bandHeight(h);
  return {
    chain: [
      'compositor',
      'name=mix',
      `sink_1::ypos=${h - band}`,
      '!',
      'videoconvert',
      '!',
      `video/x-raw,format=I420,width=${w},height=${h},framerate=${fps}/1`,
    ],
    branches: [
      // The pattern moves (ball), so every frame differs and a frozen picture shows.
      'videotestsrc',
      'is-live=true',
      'pattern=ball',
      '!',
      raw,
      '!',
      'mix.sink_0',
      'videotestsrc',
      'is-live=true',
      'pattern=solid-color',
      `foreground-color=${argb(siteColour(siteId))}`,
      '!',
      `video/x-raw,width=${w},height=${band},framerate=${fps}/1`,
      '!',
      'mix.sink_1',
    ],
  };
}

function encoder(cfg: CaptureConfig, ssrc: number, kbps: number): string[] {
  const gop = cfg.fps * KEYFRAME_INTERVAL_S;
  if (cfg.videoCodec === 'h264') {
    return [
      ...h264EncoderElements(cfg.h264Encoder ?? SOFTWARE, kbps, gop),
      '!',
      'rtph264pay',
      `pt=${INGEST.h264.payloadType}`,
      `ssrc=${ssrc}`,
      'config-interval=-1',
      'aggregate-mode=zero-latency',
      'mtu=1200',
    ];
  }
  return [
    'vp8enc',
    'deadline=1',
    'cpu-used=8',
    'lag-in-frames=0',
    'error-resilient=partitions',
    `target-bitrate=${kbps * 1000}`,
    `keyframe-max-dist=${gop}`,
    '!',
    'rtpvp8pay',
    `pt=${INGEST.vp8.payloadType}`,
    `ssrc=${ssrc}`,
    'picture-id-mode=15-bit',
    'mtu=1200',
  ];
}

/**
 * One session of the sender's rtpbin: encoder → payloader → rtpbin, RTP to the
 * edge's transport, RTCP out through its relay and the edge's feedback back
 * in, so a keyframe request for this layer reaches this layer's encoder.
 */
function session(n: number, t: GstVideoTargets): { rtp: string[]; rest: string[] } {
  const udpOut = (host: string, port: number): string[] => [
    'udpsink',
    `host=${host}`,
    `port=${port}`,
    'sync=false',
    'async=false',
  ];
  return {
    rtp: [`rtp.send_rtp_sink_${n}`],
    rest: [
      `rtp.send_rtp_src_${n}`,
      '!',
      ...udpOut(t.rtp.ip, t.rtp.port),
      `rtp.send_rtcp_src_${n}`,
      '!',
      ...udpOut('127.0.0.1', t.rtcp.sendPort),
      'udpsrc',
      'address=127.0.0.1',
      `port=${t.rtcp.recvPort}`,
      '!',
      `rtp.recv_rtcp_sink_${n}`,
    ],
  };
}

const leakyQueue = ['queue', 'max-size-buffers=2', 'leaky=downstream', '!'];

/**
 * One gst-launch-1.0 process: camera → encoder → payloader → rtpbin. With
 * `small` the camera is split (tee) and also scaled down and encoded a second
 * time at `cfg.smallKbps` into a second rtpbin session: the thumbnails' layer
 * (layers.ts), with its own SSRC, transport and keyframe requests.
 */
export function gstVideoArgs(
  cfg: CaptureConfig,
  siteId: string,
  t: GstVideoTargets,
  camera: CameraFormat,
  small: GstVideoTargets | null = null,
): string[] {
  const src = source(cfg, siteId, camera);
  const full = session(0, t);
  const head = ['-q', '-e', 'rtpbin', 'name=rtp', ...src.chain, '!'];
  if (!small || !cfg.smallKbps) {
    return [
      ...head,
      ...leakyQueue,
      ...encoder(cfg, t.rtp.ssrc, cfg.videoKbps),
      '!',
      ...full.rtp,
      ...full.rest,
      ...src.branches,
    ];
  }
  const size = smallLayerSize(cfg.width, cfg.height);
  const thumb = session(1, small);
  return [
    ...head,
    'tee',
    'name=cam',
    'cam.',
    '!',
    ...leakyQueue,
    ...encoder(cfg, t.rtp.ssrc, cfg.videoKbps),
    '!',
    ...full.rtp,
    'cam.',
    '!',
    ...leakyQueue,
    'videoscale',
    '!',
    `video/x-raw,width=${size.width},height=${size.height}`,
    '!',
    ...encoder(cfg, small.rtp.ssrc, cfg.smallKbps),
    '!',
    ...thumb.rtp,
    ...full.rest,
    ...thumb.rest,
    ...src.branches,
  ];
}
