// Thumbnails' cost, for bench:room: the bitrate of a room's small picture
// against its full one, as the edge's own ingest sends them (GStreamer, two
// layers) into a real mediasoup worker, read from the worker's producer stats.
import type { Logger } from 'pino';
import type { MediaWorker } from '../../appliance/src/media/adapter/index.js';
import type { CaptureConfig } from '../../appliance/src/media/ffmpeg/args.js';
import { LocalIngest } from '../../appliance/src/media/ingest.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface LayerRates {
  fullKbps: number[];
  smallKbps: number[];
}

/** Samples both pictures' bitrates once a second for `seconds`, after they have flowed for a few seconds. */
export async function layerBitrates(
  worker: MediaWorker,
  capture: CaptureConfig,
  log: Logger,
  seconds = 8,
): Promise<LayerRates> {
  const router = await worker.createRouter();
  const ingest = await LocalIngest.start({
    router,
    capture,
    ffmpegBin: 'ffmpeg',
    siteId: 'bench-layers',
    edgeId: 'bench',
    log,
  });
  try {
    const small = ingest.small;
    if (!small) throw new Error('the sender made no small picture (smallKbps unset?)');
    const end = Date.now() + 20_000;
    while ((await small.stats()).packets === 0 && Date.now() < end) await sleep(100);
    // The encoders' rate control settles after the first keyframes.
    await sleep(3000);
    const out: LayerRates = { fullKbps: [], smallKbps: [] };
    for (let i = 0; i < seconds; i++) {
      await sleep(1000);
      out.fullKbps.push((await ingest.video.stats()).bitrateBps / 1000);
      out.smallKbps.push((await small.stats()).bitrateBps / 1000);
    }
    return out;
  } finally {
    await ingest.close();
    router.close();
  }
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
