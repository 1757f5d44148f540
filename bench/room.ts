// What a room's sender costs and how fast its picture comes (`npm run bench:room`).
// A real mediasoup worker, the edge's own ingest (appliance/src/media/ingest.ts)
// with each video sender in turn, and receivers on loopback:
//   1. join: a receiver that joins at a random moment, until its first keyframe
//      packet (the first decodable picture);
//   2. switch: a receiver's stream resumed (what a speaker change does at every
//      hop: the edge resumes the camera and asks for a keyframe), until the
//      first keyframe packet;
//   3. encoder CPU at 1080p30 H.264 (the room kit's format), for each sender,
//      and for GStreamer with the thumbnails' small picture added;
//   4. thumbnails: the small picture's bitrate against the full one's, on the same clip;
//   5. speaker switch across a whole cascade (core -> relay -> commune, real
//      edges linked on loopback), bench/room/cascade.ts;
//   6. echo cancellation in a simulated room around the box's own canceller (bench/echo.ts).
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { MediaWorker, type Outlet, type PlainOut, type RoomRouter } from '../appliance/src/media/adapter/index.js';
import type { CaptureConfig } from '../appliance/src/media/ffmpeg/args.js';
import { LocalIngest } from '../appliance/src/media/ingest.js';
import { isKeyframePacket } from '../appliance/src/media/rtp/keyframe.js';
import { printEcho } from './echo.js';
import { cascadeSwitch } from './room/cascade.js';
import { WARM_FOR_MS } from '../appliance/src/media/forwarding.js';
import { REAP_AFTER_MS } from '../appliance/src/media/link/bridge.js';
import { twoLayerEncodeCmd, twoLayerSizes } from './room/layers.js';
import {
  SOFTWARE,
  chooseH264Encoder,
  h264EncoderElements,
  type H264Encoder,
} from '../appliance/src/media/capture/video-encoder.js';

const TRIALS = Number(process.env['BENCH_TRIALS'] ?? 12);
/** Cascade turns after a silence that cooled every room (bench/room/cascade.ts): about 40 s each. */
const COLD = Number(process.env['BENCH_COLD'] ?? 3);
const log = pino({ level: 'warn' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]! : NaN;
};
const ms = (x: number): string => `${Math.round(x)} ms`;

type Sender = CaptureConfig['videoSender'];
/** The encodes whose CPU is compared: each sender, and GStreamer with the small picture too. */
type Encode = Sender | 'gstreamer, two layers' | 'gstreamer, the GPU';
const capture = (videoSender: Sender, size: 'sim' | 'fullhd'): CaptureConfig => ({
  hardware: 'simulated',
  videoDevice: '',
  audioDevice: '',
  voice: 'tone',
  audioKbps: 32,
  videoCodec: 'h264',
  gstLaunchBin: 'gst-launch-1.0',
  cameraFormat: 'raw',
  videoSender,
  ...(size === 'sim'
    ? { width: 320, height: 240, fps: 15, videoKbps: 300 }
    : { width: 1920, height: 1080, fps: 30, videoKbps: 2500 }),
});

/** A receiver on loopback: a plain transport out of the router, recording keyframe packets. */
async function receiver(router: RoomRouter): Promise<{ out: PlainOut; keyframes: number[]; close(): void }> {
  const rtp = dgram.createSocket('udp4');
  const rtcp = dgram.createSocket('udp4');
  await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => rtcp.bind(0, '127.0.0.1', r));
  const keyframes: number[] = [];
  rtp.on('message', (m) => {
    if (isKeyframePacket(m, 'h264')) keyframes.push(performance.now());
  });
  const out = await router.createPlainOut('127.0.0.1');
  await out.connect({ ip: '127.0.0.1', port: rtp.address().port, rtcpPort: rtcp.address().port });
  return {
    out,
    keyframes,
    close: () => {
      out.close();
      rtp.close();
      rtcp.close();
    },
  };
}

async function firstKeyframeAfter(keyframes: number[], t0: number, limitMs: number): Promise<number> {
  const end = t0 + limitMs;
  while (performance.now() < end) {
    const k = keyframes.find((x) => x >= t0);
    if (k !== undefined) return k - t0;
    await sleep(5);
  }
  return NaN;
}

async function pictureTimes(worker: MediaWorker, sender: Sender): Promise<{ join: number[]; sw: number[] }> {
  const router = await worker.createRouter();
  const ingest = await LocalIngest.start({
    router,
    capture: capture(sender, 'sim'),
    ffmpegBin: 'ffmpeg',
    siteId: 'bench-room',
    edgeId: 'bench',
    log,
  });
  try {
    const flowEnd = Date.now() + 20_000;
    while ((await ingest.video.stats()).packets === 0 && Date.now() < flowEnd) await sleep(50);
    const join: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      await sleep(300 + Math.random() * 1700);
      const r = await receiver(router);
      const t0 = performance.now();
      await r.out.consume(ingest.video.id, router.rtpCapabilities);
      join.push(await firstKeyframeAfter(r.keyframes, t0, 5000));
      r.close();
    }
    const sw: number[] = [];
    const r = await receiver(router);
    const outlet: Outlet = await r.out.consume(ingest.video.id, router.rtpCapabilities);
    for (let i = 0; i < TRIALS; i++) {
      await outlet.pause();
      await sleep(300 + Math.random() * 1700);
      const t0 = performance.now();
      await outlet.resume();
      sw.push(await firstKeyframeAfter(r.keyframes, t0, 5000));
    }
    r.close();
    return { join, sw };
  } finally {
    await ingest.close();
    router.close();
  }
}

/**
 * Encoder CPU on identical input: the same 1080p clip (ffmpeg's testsrc2, 90
 * frames) encoded as fast as each tool can, in the settings the room uses;
 * CPU seconds per frame × 30 is the share of a core that 1080p30 costs. The
 * shell that runs the tool reports its reaped child's CPU time from /proc.
 */
function encoderCpuAt30fps(clip: string, frames: number, sender: Encode, gpu: H264Encoder = SOFTWARE): number {
  // The room's own GStreamer encoder elements (capture/video-encoder.ts), quoted for the shell.
  const gst = (e: H264Encoder): string =>
    `gst-launch-1.0 -q filesrc location=${clip} ! y4mdec ! ${h264EncoderElements(e, 2500, 300)
      .map((a) => `'${a}'`)
      .join(' ')} ! fakesink`;
  const cmd =
    sender === 'ffmpeg'
      ? `ffmpeg -nostdin -loglevel error -i ${clip} -c:v libx264 -preset ultrafast -tune zerolatency -profile:v baseline -b:v 2500k -f null -`
      : sender === 'gstreamer'
        ? gst(SOFTWARE)
        : sender === 'gstreamer, the GPU'
          ? gst(gpu)
          : twoLayerEncodeCmd(clip);
  const out = execFileSync('sh', ['-c', `${cmd} >/dev/null && read s < /proc/$$/stat && echo "$s"`], {
    encoding: 'utf8',
  });
  const fields = out.trim().split(') ')[1]!.split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]); // cutime + cstime, in clock ticks (100 a second on Linux)
  return (ticks / 100 / frames) * 30 * 100;
}

async function main(): Promise<void> {
  const started = Date.now();
  console.log(
    `bench:room on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, ${TRIALS} trials each`,
  );
  const worker = await MediaWorker.start({ rtcMinPort: 52_000, rtcMaxPort: 52_999 });
  try {
    const senders: Sender[] = ['gstreamer', 'ffmpeg'];
    console.log(
      '\n1-2. first decodable picture (first keyframe packet), simulated camera 320x240/15 fps H.264 300 kbit/s:',
    );
    for (const s of senders) {
      const r = await pictureTimes(worker, s);
      const lost = (xs: number[]): string => {
        const n = xs.filter((x) => Number.isNaN(x)).length;
        return n ? ` (${n} with no keyframe within 5 s)` : '';
      };
      console.log(
        `   ${s.padEnd(9)} join   p50 ${ms(pct(r.join.filter(Number.isFinite), 50))}  p95 ${ms(pct(r.join.filter(Number.isFinite), 95))}${lost(r.join)}`,
      );
      console.log(
        `   ${s.padEnd(9)} switch p50 ${ms(pct(r.sw.filter(Number.isFinite), 50))}  p95 ${ms(pct(r.sw.filter(Number.isFinite), 95))}${lost(r.sw)}`,
      );
      if (process.env['BENCH_RAW']) console.log('   raw', JSON.stringify(r));
    }
    console.log(
      "\n3. encoder CPU at 1080p30 H.264 2.5 Mbit/s (software x264, ultrafast, zerolatency, and the GPU's encoder where the edge would use one; % of one core, same clip for each):",
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-room-'));
    try {
      const clip = path.join(dir, 'clip.y4m');
      const frames = 90;
      execFileSync('ffmpeg', [
        '-nostdin',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=1920x1080:rate=30',
        '-frames:v',
        String(frames),
        '-pix_fmt',
        'yuv420p',
        clip,
      ]);
      // The GPU's encoder, where the edge would choose it (capture/video-encoder.ts).
      const gpu = await chooseH264Encoder({ gstLaunchBin: 'gst-launch-1.0' });
      const encodes: Encode[] = [...senders, 'gstreamer, two layers'];
      if (gpu.encoder.kind === 'vaapi') encodes.push('gstreamer, the GPU');
      for (const s of encodes) {
        const runs = [0, 1, 2].map(() => encoderCpuAt30fps(clip, frames, s, gpu.encoder));
        console.log(
          `   ${s.padEnd(21)} ${pct(runs, 50).toFixed(0)} % (median of 3: ${runs.map((r) => r.toFixed(0)).join(', ')})`,
        );
      }
      console.log(
        `   the GPU (VA-API): ${gpu.encoder.kind === 'vaapi' ? `measured above, ${gpu.reason}` : `not measured: ${gpu.reason}`}`,
      );
      // On the same clip, so the figure does not depend on how much CPU a loaded machine leaves a live sender.
      const sizes = twoLayerSizes(clip, dir, frames);
      console.log(
        `\n4. thumbnails: the two-layer encode of the same clip (H.264, 2500 + 150 kbit/s targets): featured 1920x1080 ${sizes.fullKbps.toFixed(0)} kbit/s, thumbnail 320x180 ${sizes.smallKbps.toFixed(0)} kbit/s: a thumbnail costs ${((100 * sizes.smallKbps) / sizes.fullKbps).toFixed(1)} % of a featured picture`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    worker.close();
  }
  const cascadeCapture: CaptureConfig = {
    ...capture('gstreamer', 'sim'),
    width: 640,
    height: 360,
    fps: 30,
    videoKbps: 800,
    smallKbps: 150,
  };
  console.log(
    `\n5. speaker switch across the cascade: core -> relay d1 -> commune c1 (the farthest TV), 3 rooms under the core taking turns, real edges on loopback sharing one worker, GStreamer two layers ${cascadeCapture.width}x${cascadeCapture.height}/${cascadeCapture.fps} H.264; from the core naming the new speaker to the first keyframe of its full picture leaving c1:`,
  );
  const sw = await cascadeSwitch(log, TRIALS, cascadeCapture, COLD);
  const fine = sw.times.filter(Number.isFinite);
  console.log(
    `   p50 ${ms(pct(fine, 50))}  p95 ${ms(pct(fine, 95))}  max ${ms(Math.max(...fine))} over ${sw.times.length} switches (${sw.times.length - fine.length} with no keyframe within 5 s; before its turn the camera was held back at c1 ${sw.heldBefore} times and announced anew ${sw.announcedAnew} times, and ${sw.anewAtNaming} times it was no longer announced at c1 when the core named the speaker; ${sw.unnamed} turns in which the core named nobody within 45 s)`,
  );
  console.log(
    `   before that, the core named the new speaker p50 ${ms(pct(sw.naming, 50))}  p95 ${ms(pct(sw.naming, 95))} after its microphone opened (named only once heard: speaker-gate.ts)`,
  );
  const coldFine = sw.coldTimes.filter(Number.isFinite);
  const all = [...fine, ...coldFine];
  console.log(
    `   cold turns (every room silent ${Math.round((WARM_FOR_MS + REAP_AFTER_MS + 4000) / 1000)} s before, so the new speaker's camera was closed on the links): ${sw.coldTimes.map((x) => ms(x)).join(', ')}; its camera was announced at c1 again by the naming in ${sw.coldAnnouncedAtNaming.filter(Boolean).length} of ${sw.coldAnnouncedAtNaming.length} (warm from the first report that heard it)`,
  );
  console.log(
    `   all switches, warm and cold: p50 ${ms(pct(all, 50))}  p95 ${ms(pct(all, 95))}  max ${ms(Math.max(...all))} over ${all.length}`,
  );
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  console.log(
    `   what waiting costs: ${mean(sw.heldAtC1).toFixed(1)} streams held back at c1 on average before a turn (warm rooms and the recently featured), carrying ${mean(sw.heldBitrateBps).toFixed(0)} bit/s there; c1 took in ${(sw.c1InBps / 1000).toFixed(0)} kbit/s from d1 (what flows: the chair and the speakers); the one worker of all six edges used ${(100 * sw.workerCpu).toFixed(0)} % of a core over the timed turns`,
  );
  if (process.env['BENCH_RAW']) console.log('   raw', JSON.stringify(sw.times.map(Math.round)));
  await printEcho();
  console.log(
    `\nload at the end ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${Math.round((Date.now() - started) / 1000)} s`,
  );
}

await main();
