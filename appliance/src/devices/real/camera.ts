import { judgePicture, lastFrameOf, type PictureThresholds } from '../analysis.js';
import type { ProcessRunner } from '../process-runner.js';
import type { Camera, CameraDevice, GreyFrame, Log } from '../types.js';
import { cameraHealth, captureFailure } from '../verdicts.js';
import { scanV4l2, type ScanRoots } from './scan.js';

// The room camera through V4L2: sysfs says what is plugged in, ffmpeg grabs
// about a second of picture as 160x90 grey frames, and the picture is judged
// in-process (see analysis.ts) rather than by parsing ffmpeg's filter logs.

// Small enough to judge in a few milliseconds, large enough that a live
// sensor's noise still flips some pixels between frames (at 64x36 a still,
// noise-reduced picture can repeat exactly and look frozen).
export const FRAME_W = 160;
export const FRAME_H = 90;
const FPS = 5;

export interface CaptureTiming {
  seconds: number;
  /** Dropped at the start: cameras deliver dark frames while exposure settles. */
  warmupSeconds: number;
  timeoutMs: number;
}

export interface RealCameraOptions {
  roots: ScanRoots;
  ffmpeg: string;
  runner: ProcessRunner;
  log: Log;
  timing: CaptureTiming;
  thresholds: PictureThresholds;
  /** ffmpeg input arguments for a device; V4L2 on a box, a file in tests. */
  input?: (device: CameraDevice) => string[];
}

export const v4l2Input = (d: CameraDevice): string[] => ['-f', 'v4l2', '-i', d.node];

/** Arguments that turn any ffmpeg input into `seconds` of 160x90 grey frames at 5 fps on stdout. */
export function pictureArgs(input: string[], timing: Pick<CaptureTiming, 'seconds' | 'warmupSeconds'>): string[] {
  const warm = timing.warmupSeconds > 0 ? ['-ss', String(timing.warmupSeconds)] : [];
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    ...input,
    ...warm,
    '-t',
    String(timing.seconds),
    '-an',
    '-vf',
    `fps=${FPS},scale=${FRAME_W}:${FRAME_H},format=gray`,
    '-f',
    'rawvideo',
    '-pix_fmt',
    'gray',
    'pipe:1',
  ];
}

export function createRealCamera(opts: RealCameraOptions): Camera {
  const log = opts.log.child({ device: 'camera' });
  const input = opts.input ?? v4l2Input;
  const list = () => scanV4l2(opts.roots);
  let last: GreyFrame | null = null;
  return {
    list,
    lastFrame: () => last,
    async check() {
      const devices = await list();
      const first = devices[0];
      last = null;
      if (!first) return cameraHealth({ devices });
      try {
        const { stdout } = await opts.runner.run(opts.ffmpeg, pictureArgs(input(first), opts.timing), {
          timeoutMs: opts.timing.timeoutMs,
          maxStdoutBytes: FRAME_W * FRAME_H * FPS * (opts.timing.seconds + 2),
        });
        last = lastFrameOf(stdout, FRAME_W, FRAME_H);
        const verdict = judgePicture(stdout, FRAME_W * FRAME_H, opts.thresholds);
        return cameraHealth({ devices, device: first.node, verdict });
      } catch (err) {
        log.warn({ err, node: first.node }, 'camera capture failed');
        return cameraHealth({ devices, device: first.node, failure: captureFailure('camera', err) });
      }
    },
  };
}
