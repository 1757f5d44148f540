// Thumbnails' cost, for bench:room: the bitrate of a room's small picture
// against its full one, and the CPU of the two-layer encode, both on the
// bench's 1080p clip in the sender's encoder settings.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Both layers' bitrates as the sender's encoders make them of bench:room's
 * clip (1080p30, `frames` frames): each layer written to a file, its size over
 * the clip's duration.
 */
export function twoLayerSizes(clip: string, dir: string, frames: number): { fullKbps: number; smallKbps: number } {
  const full = path.join(dir, 'full.h264');
  const small = path.join(dir, 'small.h264');
  const x264 = (kbps: number, file: string): string =>
    `x264enc tune=zerolatency speed-preset=ultrafast bitrate=${kbps} key-int-max=300 ! video/x-h264,profile=constrained-baseline ! filesink location=${file}`;
  execFileSync('sh', [
    '-c',
    `gst-launch-1.0 -q filesrc location=${clip} ! y4mdec ! tee name=cam cam. ! queue ! ${x264(2500, full)} ` +
      `cam. ! queue ! videoscale ! video/x-raw,width=320,height=180 ! ${x264(150, small)}`,
  ]);
  const seconds = frames / 30;
  const kbps = (f: string): number => (fs.statSync(f).size * 8) / 1000 / seconds;
  return { fullKbps: kbps(full), smallKbps: kbps(small) };
}

/** The GStreamer encode of bench:room's CPU clip with the small picture added, in the sender's settings. */
export function twoLayerEncodeCmd(clip: string): string {
  const x264 = (kbps: number) =>
    `x264enc tune=zerolatency speed-preset=ultrafast bitrate=${kbps} key-int-max=300 ! video/x-h264,profile=constrained-baseline ! fakesink`;
  return (
    `gst-launch-1.0 -q filesrc location=${clip} ! y4mdec ! tee name=cam ` +
    `cam. ! queue ! ${x264(2500)} ` +
    `cam. ! queue ! videoscale ! video/x-raw,width=320,height=180 ! ${x264(150)}`
  );
}
