// What a V4L2 camera offers (`v4l2-ctl --list-formats-ext`) and which of it the
// room uses: pure functions, used by the edge when it starts the camera and by
// `npm run check:room`, so the installer sees the choice the box will make.
// Most USB conference cameras give 1080p30 only compressed (MJPEG, some H.264):
// raw YUYV at 1080p over USB 2 manages about 5 frames a second.
import { execFile } from 'node:child_process';

export type CameraFormat = 'mjpeg' | 'h264' | 'raw';

export interface CameraMode {
  format: CameraFormat;
  /** The driver's four-character code (MJPG, H264, YUYV, NV12...). */
  fourcc: string;
  width: number;
  height: number;
  fps: number;
}

const FORMAT_OF: Record<string, CameraFormat> = {
  MJPG: 'mjpeg',
  JPEG: 'mjpeg',
  H264: 'h264',
  YUYV: 'raw',
  NV12: 'raw',
  YU12: 'raw',
  UYVY: 'raw',
};

/** Every (format, size, frame rate) the camera lists; formats we cannot take are left out. */
export function parseV4l2Formats(text: string): CameraMode[] {
  const modes: CameraMode[] = [];
  let fourcc: string | null = null;
  let size: { width: number; height: number } | null = null;
  for (const line of text.split('\n')) {
    const f = /^\s*\[\d+\]:\s*'(\w{3,4})'/.exec(line);
    if (f) {
      fourcc = f[1]!;
      size = null;
      continue;
    }
    const s = /^\s*Size:\s*\w+\s+(\d+)x(\d+)/.exec(line);
    if (s) {
      size = { width: Number(s[1]), height: Number(s[2]) };
      continue;
    }
    const i = /^\s*Interval:.*\(([\d.]+) fps\)/.exec(line);
    if (i && fourcc && size && FORMAT_OF[fourcc]) {
      modes.push({ format: FORMAT_OF[fourcc]!, fourcc, ...size, fps: Math.round(Number(i[1])) });
    }
  }
  return modes;
}

/** Preference among formats that reach the wanted mode: MJPEG decodes anywhere, then the camera's H.264, raw last. */
const RANK: Record<CameraFormat, number> = { mjpeg: 0, h264: 1, raw: 2 };

/** Below this a talking face stutters. */
const MIN_SMOOTH_FPS = 15;

export interface CameraChoice {
  mode: CameraMode | null;
  /** Whether the chosen mode is the one asked for (size and frame rate). */
  exact: boolean;
  reason: string;
}

/**
 * The mode to capture in: the wanted size and rate in the best format that
 * offers it; else, among the modes not larger than wanted and smooth enough
 * for a face that talks (15 fps or the wanted rate if lower), the one with the
 * most pixels a second: a smaller picture in motion beats a full-size slide show.
 */
export function chooseCameraMode(
  modes: readonly CameraMode[],
  want: { width: number; height: number; fps: number },
): CameraChoice {
  if (modes.length === 0) return { mode: null, exact: false, reason: 'the camera lists no format we can use' };
  const exact = modes
    .filter((m) => m.width === want.width && m.height === want.height && m.fps >= want.fps)
    .sort((a, b) => RANK[a.format] - RANK[b.format]);
  if (exact[0]) {
    const mode = { ...exact[0], fps: want.fps };
    return { mode, exact: true, reason: `${mode.fourcc} offers ${want.width}x${want.height} at ${want.fps} fps` };
  }
  const rate = (m: CameraMode): number => m.width * m.height * Math.min(m.fps, want.fps);
  const smooth = Math.min(MIN_SMOOTH_FPS, want.fps);
  const fits = modes
    .filter((m) => m.width <= want.width && m.height <= want.height && m.fps >= smooth)
    .sort((a, b) => rate(b) - rate(a) || RANK[a.format] - RANK[b.format]);
  const best = fits[0] ?? [...modes].sort((a, b) => a.width * a.height - b.width * b.height)[0]!;
  const mode = { ...best, fps: Math.min(best.fps, want.fps) };
  return {
    mode,
    exact: false,
    reason: `no format offers ${want.width}x${want.height} at ${want.fps} fps; the best the camera has is ${mode.fourcc} ${mode.width}x${mode.height} at ${mode.fps} fps`,
  };
}

/** Asks the camera (v4l2-ctl from v4l-utils); an empty list when it cannot be asked. */
export function probeCamera(device: string, bin = 'v4l2-ctl'): Promise<{ modes: CameraMode[]; error: string | null }> {
  return new Promise((resolve) => {
    execFile(bin, ['-d', device, '--list-formats-ext'], { timeout: 5000 }, (err, stdout) => {
      resolve(
        err
          ? { modes: [], error: err.message.split('\n')[0] ?? String(err) }
          : { modes: parseV4l2Formats(stdout), error: null },
      );
    });
  });
}
