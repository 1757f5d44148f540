// A room's camera answers keyframe requests: a real GStreamer sender into a
// real mediasoup worker, its periodic keyframes ten seconds apart. A receiver
// that joins after the first keyframe, and one that asks again later, each get
// a new keyframe long before the next periodic one: the edge's PLI reached the
// encoder through the RTCP relay.
import dgram from 'node:dgram';
import { pino } from 'pino';
import t from 'tap';
import { MediaWorker } from '../../src/media/adapter/index.js';
import { KEYFRAME_INTERVAL_S } from '../../src/media/capture/gst-args.js';
import type { CaptureConfig } from '../../src/media/ffmpeg/args.js';
import { LocalIngest } from '../../src/media/ingest.js';
import { isKeyframePacket } from '../../src/media/rtp/keyframe.js';
import { until } from './helpers.js';

const log = pino({ level: 'silent' });
// A port range of this process's own (tests run in parallel).
const rtcMinPort = 50_000 + (process.pid % 50) * 100;
const PORTS = { rtcMinPort, rtcMaxPort: rtcMinPort + 99 };

const capture = (videoCodec: CaptureConfig['videoCodec']): CaptureConfig => ({
  hardware: 'simulated',
  videoDevice: '',
  audioDevice: '',
  width: 320,
  height: 240,
  fps: 15,
  videoCodec,
  videoKbps: 300,
  audioKbps: 32,
  voice: 'tone',
  videoSender: 'gstreamer',
  gstLaunchBin: 'gst-launch-1.0',
  cameraFormat: 'raw',
});

for (const codec of ['h264', 'vp8'] as const) {
  t.test(`${codec}: a late receiver and a repeated request each get a keyframe at once`, async (t) => {
    const worker = await MediaWorker.start(PORTS);
    t.teardown(() => worker.close());
    const router = await worker.createRouter();
    const ingest = await LocalIngest.start({
      router,
      capture: capture(codec),
      ffmpegBin: 'ffmpeg',
      siteId: 'site-k',
      edgeId: 'e-k',
      log,
    });
    t.teardown(() => ingest.close());
    let failed: unknown = null;
    ingest.events.on('failed', (err) => {
      failed = err;
    });

    const sink = dgram.createSocket('udp4');
    const sinkRtcp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => sinkRtcp.bind(0, '127.0.0.1', resolve));
    t.teardown(() => {
      sink.close();
      sinkRtcp.close();
    });
    const keyframes: number[] = [];
    let packets = 0;
    sink.on('message', (msg) => {
      packets++;
      if (isKeyframePacket(msg, codec)) keyframes.push(Date.now());
    });

    // The sender's first keyframe goes to nobody: wait until the camera flows.
    await until('the camera sends', async () => (await ingest.video.stats()).packets > 0, 20_000);
    const firstPacketAt = Date.now();
    const out = await router.createPlainOut('127.0.0.1');
    await out.connect({ ip: '127.0.0.1', port: sink.address().port, rtcpPort: sinkRtcp.address().port });
    await new Promise((r) => setTimeout(r, 500));
    const joinedAt = Date.now();
    const outlet = await out.consume(ingest.video.id, router.rtpCapabilities);
    await until('a keyframe for the receiver that joined', async () => keyframes.some((k) => k >= joinedAt), 4000);
    t.ok(packets > 0, 'the receiver gets the picture');

    await new Promise((r) => setTimeout(r, 500));
    const askedAt = Date.now();
    await outlet.requestKeyFrame();
    await until('a keyframe for the repeated request', async () => keyframes.some((k) => k >= askedAt), 3000);
    t.ok(
      Date.now() - firstPacketAt < KEYFRAME_INTERVAL_S * 1000,
      'both keyframes came before the next periodic one could have (they were asked for)',
    );
    t.equal(failed, null, 'no sender died');
  });
}
