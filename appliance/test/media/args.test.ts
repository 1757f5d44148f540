// ffmpeg command lines and edge config, checked without running anything.
import t from 'tap';
import { bandHeight, ingestArgs, LEVEL_FILTER, siteColour, siteToneHz, type CaptureConfig } from '../../src/media/ffmpeg/args.js';
import { captureConfig, loadEdgeConfig } from '../../src/media/config.js';

const sim: CaptureConfig = { hardware: 'simulated', videoDevice: '/dev/video0', audioDevice: 'default', width: 320, height: 240, fps: 15, videoCodec: 'vp8', videoKbps: 300, audioKbps: 32, voice: 'tone' };
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
  t.ok(args.includes(`-map 1:a:0 -filter:a ${LEVEL_FILTER} -c:a libopus`), 'the microphone level is measured and printed on fd 3');
  const silent = ingestArgs({ ...sim, voice: 'silent' }, 'site-a', v, a).join(' ');
  t.match(silent, /anullsrc/, 'a silent room sends silence');
  t.notMatch(silent, /sine=/);
});

t.test('real capture: V4L2 + ALSA, H.264 by default at 1080p30', async (t) => {
  const cfg = captureConfig(loadEdgeConfig({ DIEMCAU_EDGE_ID: 'e1', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20) }))!;
  t.same([cfg.hardware, cfg.width, cfg.height, cfg.fps, cfg.videoCodec], ['real', 1920, 1080, 30, 'h264'], 'real hardware unless told otherwise');
  const args = ingestArgs(cfg, 'site-a', v, a).join(' ');
  t.match(args, /-f v4l2 -framerate 30 -video_size 1920x1080 -i \/dev\/video0/);
  t.match(args, /-f alsa .* -i default/);
  t.match(args, /-c:v libx264 .* -payload_type 102/);
  t.notMatch(args, /-f lavfi/, 'no test source');
});

t.test('edge config', async (t) => {
  t.throws(() => loadEdgeConfig({}), /DIEMCAU_EDGE_ID.*DIEMCAU_EDGE_ADMIN_TOKEN|DIEMCAU_EDGE_ADMIN_TOKEN.*DIEMCAU_EDGE_ID/, 'every missing value is reported at once');
  t.throws(() => loadEdgeConfig({ DIEMCAU_EDGE_ID: 'e1', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20), DIEMCAU_EDGE_PORT: 'x' }), /DIEMCAU_EDGE_PORT/);
  t.throws(() => loadEdgeConfig({ DIEMCAU_EDGE_ID: 'e1', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20), DIEMCAU_EDGE_RTC_MIN_PORT: '5000', DIEMCAU_EDGE_RTC_MAX_PORT: '4000' }), /RTC_MIN_PORT/);
  const core = loadEdgeConfig({ DIEMCAU_EDGE_ID: 'core', DIEMCAU_EDGE_ROLE: 'core', DIEMCAU_EDGE_HARDWARE: 'none', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20), DIEMCAU_EDGE_PORT: '0' });
  t.equal(core.port, 0);
  t.equal(captureConfig(core), null, 'the core has no room of its own');
  const simCfg = captureConfig(loadEdgeConfig({ DIEMCAU_EDGE_ID: 'e1', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20), DIEMCAU_EDGE_HARDWARE: 'simulated' }))!;
  t.same([simCfg.width, simCfg.height, simCfg.videoCodec, simCfg.voice], [320, 240, 'vp8', 'tone'], 'simulated capture is scaled down');
  t.throws(() => loadEdgeConfig({ DIEMCAU_EDGE_ID: 'e1', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20), DIEMCAU_EDGE_SIM_VOICE: 'loud' }), /DIEMCAU_EDGE_SIM_VOICE/);
});
