// ffmpeg command lines and edge config, checked without running anything.
import t from 'tap';
import {
  bandHeight,
  ingestArgs,
  LEVEL_FILTER,
  siteColour,
  siteToneHz,
  type CaptureConfig,
} from '../../src/media/ffmpeg/args.js';
import { captureConfig, loadEdgeConfig } from '../../src/media/config.js';
import { gstVideoArgs, KEYFRAME_INTERVAL_S, smallLayerSize } from '../../src/media/capture/gst-args.js';

const sim: CaptureConfig = {
  hardware: 'simulated',
  videoDevice: '/dev/video0',
  audioDevice: 'default',
  width: 320,
  height: 240,
  fps: 15,
  videoCodec: 'vp8',
  videoKbps: 300,
  audioKbps: 32,
  voice: 'tone',
  videoSender: 'ffmpeg',
  gstLaunchBin: 'gst-launch-1.0',
  cameraFormat: 'auto',
};
const v = { ip: '127.0.0.1', port: 40000, rtcpPort: 40001, ssrc: 1111 };
const a = { ip: '127.0.0.1', port: 40002, rtcpPort: 40003, ssrc: 2222 };

t.test('simulated capture: pattern and tone of the site', async (t) => {
  const args = ingestArgs(sim, 'site-a', v, a).join(' ');
  t.match(args, /testsrc2=size=320x240:rate=15/);
  t.match(args, new RegExp(`sine=frequency=${siteToneHz('site-a')}`));
  t.match(args, /-c:v libvpx .* -payload_type 101 -ssrc 1111 -f rtp rtp:\/\/127\.0\.0\.1:40000\?rtcpport=40001/);
  t.match(args, /-c:a libopus .* -payload_type 100 -ssrc 2222 -f rtp rtp:\/\/127\.0\.0\.1:40002\?rtcpport=40003/);
  t.notMatch(args, /v4l2|alsa/, 'no real device is touched');
  t.notSame(siteColour('site-a'), siteColour('site-b'), 'two sites, two colours');
  for (const id of ['a', 'b', 'c', 'site-17', 'xa-001']) {
    const c = siteColour(id);
    t.notOk(c[0] === c[1] && c[1] === c[2], `${id}'s colour is not grey`);
  }
  t.equal(bandHeight(240) % 2, 0, 'band height is even (yuv420p)');
  t.ok(
    args.includes(`-map 1:a:0 -filter:a ${LEVEL_FILTER} -c:a libopus`),
    'the microphone level is measured and printed on fd 3',
  );
  const silent = ingestArgs({ ...sim, voice: 'silent' }, 'site-a', v, a).join(' ');
  t.match(silent, /anullsrc/, 'a silent room sends silence');
  t.notMatch(silent, /sine=/);
});

t.test('real capture: V4L2 + ALSA, H.264 by default at 1080p30', async (t) => {
  const cfg = captureConfig(loadEdgeConfig({ DIEMCAU_EDGE_ID: 'e1', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20) }))!;
  t.same(
    [cfg.hardware, cfg.width, cfg.height, cfg.fps, cfg.videoCodec],
    ['real', 1920, 1080, 30, 'h264'],
    'real hardware unless told otherwise',
  );
  const args = ingestArgs(cfg, 'site-a', v, a).join(' ');
  t.match(args, /-f v4l2 -framerate 30 -video_size 1920x1080 -i \/dev\/video0/);
  t.match(args, /-f alsa .* -i default/);
  t.match(args, /-c:v libx264 .* -payload_type 102/);
  t.notMatch(args, /-f lavfi/, 'no test source');
});

t.test('GStreamer sends the picture by default; ffmpeg then sends only the sound', async (t) => {
  const cfg = captureConfig(loadEdgeConfig({ DIEMCAU_EDGE_ID: 'e1', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20) }))!;
  t.equal(cfg.videoSender, 'gstreamer');
  t.equal(cfg.cameraFormat, 'auto', 'the camera is asked what it offers');
  const audioOnly = ingestArgs(cfg, 'site-a', null, a).join(' ');
  t.notMatch(audioOnly, /v4l2|-c:v|0:v:0/, 'ffmpeg leaves the camera alone');
  t.match(audioOnly, /-f alsa .* -i default -map 0:a:0 -filter:a/, 'the microphone is its only input');

  const rtcp = { sendPort: 41000, recvPort: 41001 };
  const real = gstVideoArgs(cfg, 'site-a', { rtp: v, rtcp }, 'mjpeg').join(' ');
  t.match(real, /v4l2src device=\/dev\/video0 .* ! image\/jpeg,width=1920,height=1080,framerate=30\/1 ! jpegdec/);
  t.match(
    real,
    /x264enc .* key-int-max=300 .* rtph264pay pt=102 ssrc=1111/,
    `a keyframe every ${KEYFRAME_INTERVAL_S} s at most, the rest on request`,
  );
  t.match(real, /rtp\.send_rtp_src_0 ! udpsink host=127\.0\.0\.1 port=40000 /, 'RTP straight to the transport');
  t.match(real, /rtp\.send_rtcp_src_0 ! udpsink host=127\.0\.0\.1 port=41000 /, 'RTCP out through the relay');
  t.match(real, /udpsrc address=127\.0\.0\.1 port=41001 ! rtp\.recv_rtcp_sink_0/, "the edge's feedback (PLI, FIR) in");
  t.match(
    gstVideoArgs(cfg, 'site-a', { rtp: v, rtcp }, 'h264').join(' '),
    /video\/x-h264,width=1920.* ! h264parse ! avdec_h264/,
  );
  t.match(
    gstVideoArgs(cfg, 'site-a', { rtp: v, rtcp }, 'raw').join(' '),
    /v4l2src .* ! video\/x-raw,width=1920,height=1080,framerate=30\/1 ! videoconvert/,
  );

  const simulated = gstVideoArgs(sim, 'site-a', { rtp: v, rtcp }, 'raw').join(' ');
  const [r, g, b] = siteColour('site-a').map((c) => c.toString(16).padStart(2, '0'));
  t.match(
    simulated,
    new RegExp(`compositor name=mix sink_1::ypos=${240 - bandHeight(240)}`),
    'the band sits at the bottom',
  );
  t.match(simulated, new RegExp(`foreground-color=0xff${r}${g}${b}`), "the band is in the site's colour");
  t.match(simulated, /vp8enc .* keyframe-max-dist=150 .* rtpvp8pay pt=101 ssrc=1111/);
  t.notMatch(simulated, /v4l2src/, 'no real device is touched');
});

t.test('with a small layer GStreamer encodes the camera twice, each layer in its own RTP session', async (t) => {
  const cfg = captureConfig(loadEdgeConfig({ DIEMCAU_EDGE_ID: 'e1', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20) }))!;
  t.equal(cfg.smallKbps, 150, 'a real room sends a small picture by default');
  t.same(smallLayerSize(1920, 1080), { width: 320, height: 180 }, '320x180 for a 1080p camera');
  t.same(smallLayerSize(320, 240), { width: 160, height: 120 }, 'half of a small camera');
  const full = { rtp: v, rtcp: { sendPort: 41000, recvPort: 41001 } };
  const small = { rtp: { ...v, port: 40010, ssrc: 2222 }, rtcp: { sendPort: 41010, recvPort: 41011 } };
  const args = gstVideoArgs(cfg, 'site-a', full, 'mjpeg', small).join(' ');
  t.match(args, /jpegdec .* tee name=cam cam\. ! queue/, 'one camera, split');
  t.match(args, /x264enc .* bitrate=2500 .* ssrc=1111 .* ! rtp\.send_rtp_sink_0/, 'the full picture in session 0');
  t.match(
    args,
    /cam\. ! queue .* videoscale ! video\/x-raw,width=320,height=180 ! x264enc .* bitrate=150 .* ssrc=2222 .* ! rtp\.send_rtp_sink_1/,
    'the small picture scaled and encoded at its own bitrate in session 1',
  );
  t.match(args, /rtp\.send_rtp_src_1 ! udpsink host=127\.0\.0\.1 port=40010 /, 'to its own transport');
  t.match(args, /rtp\.send_rtcp_src_1 ! udpsink host=127\.0\.0\.1 port=41010 /, 'its RTCP through its own relay');
  t.match(
    args,
    /udpsrc address=127\.0\.0\.1 port=41011 ! rtp\.recv_rtcp_sink_1/,
    'its keyframe requests reach its own encoder',
  );
  const gpu = gstVideoArgs(
    { ...cfg, h264Encoder: { kind: 'vaapi', element: 'vah264enc' } },
    'site-a',
    full,
    'mjpeg',
    small,
  ).join(' ');
  t.match(
    gpu,
    /cam\. ! queue .* videoconvert ! video\/x-raw,format=NV12 ! vah264enc rate-control=cbr bitrate=2500 .* ! rtph264pay pt=102 ssrc=1111 .* cam\. ! queue .* vah264enc rate-control=cbr bitrate=150 .* ssrc=2222/,
    "with the GPU's encoder both layers go through it",
  );
  t.notMatch(gpu, /x264enc/, 'and not through x264');
  t.notMatch(
    gstVideoArgs({ ...cfg, smallKbps: 0 }, 'site-a', full, 'mjpeg', small).join(' '),
    /tee|send_rtp_sink_1/,
    'smallKbps 0: one picture',
  );
  const simCfg = captureConfig(
    loadEdgeConfig({
      DIEMCAU_EDGE_ID: 'e1',
      DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20),
      DIEMCAU_EDGE_HARDWARE: 'simulated',
    }),
  )!;
  t.equal(simCfg.smallKbps, 0, 'the simulated rooms send one picture unless asked');
});

t.test('edge config', async (t) => {
  t.throws(
    () => loadEdgeConfig({}),
    /DIEMCAU_EDGE_ID.*DIEMCAU_EDGE_ADMIN_TOKEN|DIEMCAU_EDGE_ADMIN_TOKEN.*DIEMCAU_EDGE_ID/,
    'every missing value is reported at once',
  );
  t.throws(
    () => loadEdgeConfig({ DIEMCAU_EDGE_ID: 'e1', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20), DIEMCAU_EDGE_PORT: 'x' }),
    /DIEMCAU_EDGE_PORT/,
  );
  t.throws(
    () =>
      loadEdgeConfig({
        DIEMCAU_EDGE_ID: 'e1',
        DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20),
        DIEMCAU_EDGE_RTC_MIN_PORT: '5000',
        DIEMCAU_EDGE_RTC_MAX_PORT: '4000',
      }),
    /RTC_MIN_PORT/,
  );
  const core = loadEdgeConfig({
    DIEMCAU_EDGE_ID: 'core',
    DIEMCAU_EDGE_ROLE: 'core',
    DIEMCAU_EDGE_HARDWARE: 'none',
    DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20),
    DIEMCAU_EDGE_PORT: '0',
  });
  t.equal(core.port, 0);
  t.equal(captureConfig(core), null, 'the core has no room of its own');
  const simCfg = captureConfig(
    loadEdgeConfig({
      DIEMCAU_EDGE_ID: 'e1',
      DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20),
      DIEMCAU_EDGE_HARDWARE: 'simulated',
    }),
  )!;
  t.same(
    [simCfg.width, simCfg.height, simCfg.videoCodec, simCfg.voice],
    [320, 240, 'vp8', 'tone'],
    'simulated capture is scaled down',
  );
  t.throws(
    () =>
      loadEdgeConfig({
        DIEMCAU_EDGE_ID: 'e1',
        DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20),
        DIEMCAU_EDGE_SIM_VOICE: 'loud',
      }),
    /DIEMCAU_EDGE_SIM_VOICE/,
  );
});
