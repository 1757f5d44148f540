// The room's H.264 encoder: the GPU's through VA-API where one encodes, x264
// otherwise. The choice runs real GStreamer encodes; this machine has no GPU,
// so the GPU's side is checked by what it is given and by how a failing
// element is turned down.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  SOFTWARE,
  chooseH264Encoder,
  h264EncoderElements,
  tryH264Encoder,
} from '../../src/media/capture/video-encoder.js';

t.test(
  'each encoder is given the bitrate, a keyframe interval, no B-frames and the constrained-baseline profile',
  async (t) => {
    t.same(h264EncoderElements(SOFTWARE, 2500, 300), [
      'x264enc',
      'tune=zerolatency',
      'speed-preset=ultrafast',
      'bitrate=2500',
      'vbv-buf-capacity=1000',
      'key-int-max=300',
      '!',
      'video/x-h264,profile=constrained-baseline',
    ]);
    t.equal(
      h264EncoderElements({ kind: 'vaapi', element: 'vah264enc' }, 2500, 300).join(' '),
      'videoconvert ! video/x-raw,format=NV12 ! vah264enc rate-control=cbr bitrate=2500 key-int-max=300 b-frames=0 ! video/x-h264,profile=constrained-baseline',
      'the VA plugin takes NV12',
    );
    t.equal(
      h264EncoderElements({ kind: 'vaapi', element: 'vaapih264enc' }, 150, 300).join(' '),
      'videoconvert ! video/x-raw,format=NV12 ! vaapih264enc rate-control=cbr bitrate=150 keyframe-period=300 max-bframes=0 ! video/x-h264,profile=constrained-baseline',
      'gstreamer-vaapi names its settings its own way',
    );
  },
);

t.test('a trial encode runs the real pipeline', async (t) => {
  t.equal(await tryH264Encoder('gst-launch-1.0', SOFTWARE), null, 'x264 encodes here');
  const missing = await tryH264Encoder('gst-launch-1.0', { kind: 'vaapi', element: 'diemcau-no-such-enc' });
  t.match(missing, /diemcau-no-such-enc/, 'an element that is not installed fails, and says which');
  t.match(
    await tryH264Encoder('/nonexistent/gst-launch-1.0', SOFTWARE),
    /is not installed/,
    'no GStreamer: said, not thrown',
  );
});

t.test('the GPU encoder is kept only when the box has a render node and the encoder runs', async (t) => {
  const none = await chooseH264Encoder({ gstLaunchBin: 'gst-launch-1.0', renderNode: '/nonexistent/renderD128' });
  t.same(none.encoder, SOFTWARE);
  t.match(none.reason, /no GPU render node \(\/nonexistent\/renderD128\)/);

  // A render node that exists, with encoders that cannot run: each failure is said, x264 kept.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-dri-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const node = path.join(dir, 'renderD128');
  fs.writeFileSync(node, '');
  const failed = await chooseH264Encoder({
    gstLaunchBin: 'gst-launch-1.0',
    renderNode: node,
    candidates: ['diemcau-no-such-enc', 'diemcau-other-enc'],
  });
  t.same(failed.encoder, SOFTWARE);
  t.match(failed.reason, /no VA-API encoder works \(diemcau-no-such-enc: .*; diemcau-other-enc: .*\)/);
});
