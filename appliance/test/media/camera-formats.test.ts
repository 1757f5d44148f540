// Which mode the room's camera is captured in, from what `v4l2-ctl --list-formats-ext` prints.
import t from 'tap';
import { chooseCameraMode, parseV4l2Formats, probeCamera } from '../../src/media/capture/camera-formats.js';

// A typical USB conference camera: 1080p30 only as MJPEG, raw 1080p at 5 fps.
const USB2_CAMERA = `ioctl: VIDIOC_ENUM_FMT
\tType: Video Capture

\t[0]: 'MJPG' (Motion-JPEG, compressed)
\t\tSize: Discrete 1920x1080
\t\t\tInterval: Discrete 0.033s (30.000 fps)
\t\t\tInterval: Discrete 0.067s (15.000 fps)
\t\tSize: Discrete 1280x720
\t\t\tInterval: Discrete 0.033s (30.000 fps)
\t[1]: 'YUYV' (YUYV 4:2:2)
\t\tSize: Discrete 1920x1080
\t\t\tInterval: Discrete 0.200s (5.000 fps)
\t\tSize: Discrete 640x480
\t\t\tInterval: Discrete 0.033s (30.000 fps)
`;

const WANT = { width: 1920, height: 1080, fps: 30 };

t.test('parses every format, size and rate', async (t) => {
  const modes = parseV4l2Formats(USB2_CAMERA);
  t.same(
    modes.map((m) => `${m.fourcc} ${m.width}x${m.height}@${m.fps}`),
    ['MJPG 1920x1080@30', 'MJPG 1920x1080@15', 'MJPG 1280x720@30', 'YUYV 1920x1080@5', 'YUYV 640x480@30'],
  );
  t.same(
    parseV4l2Formats(
      "\t[0]: 'GREY' (8-bit Greyscale)\n\t\tSize: Discrete 640x480\n\t\t\tInterval: Discrete 0.033s (30.000 fps)\n",
    ),
    [],
    'a format we cannot take is left out',
  );
});

t.test('1080p30 in MJPEG rather than raw at 5 fps', async (t) => {
  const c = chooseCameraMode(parseV4l2Formats(USB2_CAMERA), WANT);
  t.same([c.mode?.format, c.mode?.width, c.mode?.fps, c.exact], ['mjpeg', 1920, 30, true]);
});

t.test("the camera's H.264 when it has no MJPEG at that mode", async (t) => {
  const h264 =
    USB2_CAMERA.replace(
      "'MJPG' (Motion-JPEG, compressed)\n\t\tSize: Discrete 1920x1080",
      "'MJPG' (Motion-JPEG, compressed)\n\t\tSize: Discrete 800x600",
    ) +
    "\t[2]: 'H264' (H.264, compressed)\n\t\tSize: Discrete 1920x1080\n\t\t\tInterval: Discrete 0.033s (30.000 fps)\n";
  const c = chooseCameraMode(parseV4l2Formats(h264), WANT);
  t.same([c.mode?.format, c.mode?.width, c.exact], ['h264', 1920, true]);
});

t.test('a camera without 1080p30: the most pixels a second, never a slide show', async (t) => {
  const old =
    "\t[0]: 'YUYV' (YUYV 4:2:2)\n\t\tSize: Discrete 1920x1080\n\t\t\tInterval: Discrete 0.200s (5.000 fps)\n" +
    '\t\tSize: Discrete 1280x720\n\t\t\tInterval: Discrete 0.100s (10.000 fps)\n\t\tSize: Discrete 640x480\n\t\t\tInterval: Discrete 0.033s (30.000 fps)\n';
  const c = chooseCameraMode(parseV4l2Formats(old), WANT);
  t.same(
    [c.mode?.width, c.mode?.height, c.mode?.fps, c.exact],
    [640, 480, 30, false],
    '480p30 beats 720p10 and 1080p5',
  );
  t.match(c.reason, /no format offers 1920x1080 at 30 fps/);
  t.equal(chooseCameraMode([], WANT).mode, null, 'no camera modes, no choice');
});

t.test('a camera that cannot be asked is an empty list with the reason, not a crash', async (t) => {
  const r = await probeCamera('/dev/video-none', 'v4l2-ctl-missing');
  t.same(r.modes, []);
  t.ok(r.error);
});
