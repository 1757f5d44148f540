// Which H.264 encoder the room's camera goes through: the GPU's, through
// VA-API, where the box has one that works; x264 in software otherwise (about
// 30 % of one core at 1080p30, measured by `npm run bench:room`). Used by the
// edge when it starts a real camera and by `npm run check:room`, so the
// installer sees the choice the box will make.
//
// A VA-API element can be installed and still not encode (no driver for the
// GPU, a driver without H.264 encoding, no constrained-baseline profile), so
// each one is tried with a short encode of the very elements and caps the
// room would send; the first that runs is kept. Both GPU encoders derive from
// GstVideoEncoder, which turns the edge's keyframe requests (force-key-unit)
// into a keyframe as x264enc does.
import { execFile } from 'node:child_process';
import fs from 'node:fs';

export type H264Encoder = { kind: 'x264' } | { kind: 'vaapi'; element: string };

/** GStreamer 1.22's VA plugin (-bad) first, then the older gstreamer-vaapi. */
export const VAAPI_ELEMENTS: readonly string[] = ['vah264enc', 'vaapih264enc'];
/** The GPU's render node, which VA-API opens. */
export const RENDER_NODE = '/dev/dri/renderD128';
export const SOFTWARE: H264Encoder = { kind: 'x264' };

/** What the room sends: constrained baseline (no B-frames), as the edge's H.264 codec says. */
const H264_CAPS = 'video/x-h264,profile=constrained-baseline';

/**
 * The elements from raw I420 to H.264 at `kbps`, a keyframe at most every
 * `gop` frames and on request.
 */
export function h264EncoderElements(encoder: H264Encoder, kbps: number, gop: number): string[] {
  if (encoder.kind === 'x264')
    return [
      'x264enc',
      'tune=zerolatency',
      'speed-preset=ultrafast',
      `bitrate=${kbps}`,
      'vbv-buf-capacity=1000',
      `key-int-max=${gop}`,
      '!',
      H264_CAPS,
    ];
  // VA-API encoders take NV12; the names of their settings differ.
  const settings =
    encoder.element === 'vaapih264enc'
      ? ['rate-control=cbr', `bitrate=${kbps}`, `keyframe-period=${gop}`, 'max-bframes=0']
      : ['rate-control=cbr', `bitrate=${kbps}`, `key-int-max=${gop}`, 'b-frames=0'];
  return ['videoconvert', '!', 'video/x-raw,format=NV12', '!', encoder.element, ...settings, '!', H264_CAPS];
}

const TRY_TIMEOUT_MS = 10_000;

/** A short encode (15 frames of 640x360) through `encoder`: null when it ran, why not otherwise. */
export function tryH264Encoder(gstLaunchBin: string, encoder: H264Encoder): Promise<string | null> {
  const args = [
    '-q',
    'videotestsrc',
    'num-buffers=15',
    '!',
    'video/x-raw,format=I420,width=640,height=360,framerate=30/1',
    '!',
    ...h264EncoderElements(encoder, 1000, 30),
    '!',
    'fakesink',
  ];
  return new Promise((resolve) => {
    execFile(gstLaunchBin, args, { timeout: TRY_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (!err) return resolve(null);
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ENOENT') return resolve(`${gstLaunchBin} is not installed`);
      if (e.killed) return resolve(`no answer within ${TRY_TIMEOUT_MS} ms`);
      const lines = stderr.trim().split('\n').filter(Boolean);
      resolve(lines.find((l) => /ERROR|erroneous|no element/i.test(l)) ?? lines.at(-1) ?? e.message);
    });
  });
}

export interface EncoderChoice {
  encoder: H264Encoder;
  /** Why, in words, for the log and the installer. */
  reason: string;
}

/**
 * The GPU's encoder when the box has a render node and one of `candidates`
 * encodes; x264 otherwise, with each candidate's failure in the reason.
 */
export async function chooseH264Encoder(o: {
  gstLaunchBin: string;
  renderNode?: string;
  candidates?: readonly string[];
}): Promise<EncoderChoice> {
  const node = o.renderNode ?? RENDER_NODE;
  if (!fs.existsSync(node)) return { encoder: SOFTWARE, reason: `no GPU render node (${node})` };
  const failures: string[] = [];
  for (const element of o.candidates ?? VAAPI_ELEMENTS) {
    const encoder: H264Encoder = { kind: 'vaapi', element };
    const failed = await tryH264Encoder(o.gstLaunchBin, encoder);
    if (failed === null) return { encoder, reason: `${element} encodes on ${node}` };
    failures.push(`${element}: ${failed}`);
  }
  return { encoder: SOFTWARE, reason: `no VA-API encoder works (${failures.join('; ')})` };
}
